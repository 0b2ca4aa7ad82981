//! The shipped models load, verify and answer; bad files and bad inputs give clear errors,
//! never a panic, and a broken model does not stop the others.

use edge_models::{
    DayFeatures, Engine, Forecaster, History, Kernels, Manifest, ModelError, ModelSet, ProductPack,
    Recommender, SlotCrop, SlotNet, TestVector, TextEncoder, CROP_SIZE,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn manifest() -> Manifest {
    Manifest::load(&models_dir().join("manifest.toml")).expect("models/manifest.toml")
}

/// A scratch copy of the manifest and every file it names, to damage freely.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest();
    let copy = |rel: &Path| {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(m.path(rel), &to).unwrap();
    };
    copy(Path::new("manifest.toml"));
    for e in &m.models {
        copy(&e.file);
        copy(&e.test_vector);
        for key in ["skus", "tokenizer"] {
            if let Some(rel) = e.preprocess.get(key).and_then(|v| v.as_str()) {
                copy(Path::new(rel));
            }
        }
    }
    let path = dir.path().join("manifest.toml");
    (dir, path)
}

fn edit_manifest(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "manifest has no {from:?}");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn day(sales: f32, weekday: u8) -> DayFeatures {
    DayFeatures {
        sales,
        weekday,
        promotion: false,
        relative_price: 1.0,
        stock_out: false,
    }
}

fn history(f: impl Fn(usize) -> f32) -> History {
    History {
        days: (0..28).map(|i| day(f(i), (i % 7) as u8)).collect(),
    }
}

#[test]
fn every_shipped_model_verifies_and_loads() {
    let set = ModelSet::load(&models_dir().join("manifest.toml"), 24).unwrap();
    for r in &set.reports {
        match &r.result {
            Ok(ms) => println!("{} {}: ready in {ms:.0} ms", r.name, r.version),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        set.ready(),
        ["slotnet", "forecaster", "recommender", "text_encoder"]
    );
}

/// Our quantize kernels (`src/kernels.rs`) must change the time only: every int8 model gives
/// the same bits with them as with tract's own, on its test vector tiled to each batch size, on
/// the same inputs scaled up and down (other activation ranges, values that saturate), and for
/// the text encoder at several lengths.
#[test]
fn our_quantize_kernels_give_the_same_outputs_as_tract_s() {
    let m = manifest();
    let mut swapped = 0;
    for entry in &m.models {
        let batches: &[usize] = if entry.inputs[0].batched() {
            &[1, 24]
        } else {
            &[1]
        };
        let ours = Engine::load_with_kernels(&m, &entry.name, false, batches, Kernels::Fast)
            .unwrap_or_else(|e| panic!("{e}"));
        let tract = Engine::load_with_kernels(&m, &entry.name, false, batches, Kernels::Tract)
            .unwrap_or_else(|e| panic!("{e}"));
        let fast_ops: usize = batches
            .iter()
            .flat_map(|&b| ours.op_counts(b).unwrap())
            .filter(|(op, _)| op.starts_with("Fast"))
            .map(|(_, n)| n)
            .sum();
        println!("{}: {fast_ops} operators ours", entry.name);
        swapped += fast_ops;
        let vector = TestVector::load(&m.path(&entry.test_vector), entry).unwrap();
        let seqs: Vec<Option<usize>> = if entry.inputs.iter().any(|i| i.sequenced()) {
            vec![Some(3), Some(12), Some(40), Some(64)]
        } else {
            vec![None]
        };
        for &batch in batches {
            for seq in &seqs {
                for gain in [1.0f32, 0.25, 3.0, 1000.0] {
                    let feeds = vector.tiled(entry, batch, seq.unwrap_or(1), gain);
                    let inputs = feeds.inputs();
                    let a = ours.run(batch, &inputs).unwrap();
                    let b = tract.run(batch, &inputs).unwrap();
                    for (x, y) in a.iter().zip(&b) {
                        assert_eq!(x.shape, y.shape);
                        let same = x
                            .data
                            .iter()
                            .zip(&y.data)
                            .all(|(p, q)| p.to_bits() == q.to_bits());
                        assert!(
                            same,
                            "{} batch {batch} seq {seq:?} gain {gain}: outputs differ",
                            entry.name
                        );
                    }
                }
            }
        }
    }
    // slotnet's and the forecaster's QuantizeLinear (batch 1 and 24), the text encoder's
    // DynamicQuantizeLinear and residual Adds, slotnet's pixel normalisation and Concat
    assert!(swapped >= 90, "only {swapped} operators were replaced");
}

#[test]
fn slotnet_reads_a_shelf_and_batches_agree_with_single_runs() {
    let net = SlotNet::load(&manifest(), 24).unwrap();
    // 30 crops: one full batch of 24 and a padded batch of 6
    let crops: Vec<SlotCrop> = (0..30u32)
        .map(|i| {
            let rgb = (0..CROP_SIZE * CROP_SIZE * 3)
                .map(|p| ((p as u32 * (i + 3) / 7 + i * 11) % 256) as u8)
                .collect();
            SlotCrop::from_rgb(rgb)
                .unwrap()
                .with_layout(1 + i % 4, 1 + i / 8)
        })
        .collect();
    let batched = net.infer(&crops).unwrap();
    assert_eq!(batched.len(), 30);
    for (i, crop) in crops.iter().enumerate().step_by(7) {
        let single = net.infer(std::slice::from_ref(crop)).unwrap()[0];
        let b = batched[i];
        for (x, y) in [
            (b.fill, single.fill),
            (b.occluded, single.occluded),
            (b.wrong_product, single.wrong_product),
        ] {
            assert!(
                (x - y).abs() < 1e-4,
                "crop {i}: batched {b:?} vs single {single:?}"
            );
            assert!((0.0..=1.0).contains(&x));
        }
    }
    assert!(net.infer(&[]).unwrap().is_empty());
}

#[test]
fn slotnet_reads_each_slot_against_its_planned_layout() {
    let net = SlotNet::load(&manifest(), 4).unwrap();
    assert!(net.takes_layout());
    let crop = SlotCrop::from_rgb(vec![90u8; CROP_SIZE * CROP_SIZE * 3]).unwrap();
    // a crop without the slot's facings and depth is refused, with the reason
    let err = net
        .infer(std::slice::from_ref(&crop))
        .unwrap_err()
        .to_string();
    assert!(err.contains("layout"), "{err}");
    // planogram values beyond the trained 1..=4 are clamped, not refused
    assert_eq!(crop.clone().with_layout(0, 9).layout(), Some([1.0, 4.0]));
    let wide = crop.clone().with_layout(12, 1);
    let four = crop.with_layout(4, 1);
    assert_eq!(
        net.infer(std::slice::from_ref(&wide)).unwrap(),
        net.infer(std::slice::from_ref(&four)).unwrap()
    );
}

#[test]
fn slotnet_reads_whether_the_planned_product_is_there_only_when_it_knows_the_product() {
    let net = SlotNet::load(&manifest(), 4).unwrap();
    let pack = |shape: &str| ProductPack {
        primary: [200, 30, 40],
        secondary: [250, 250, 240],
        shape: shape.into(),
    };
    let d = pack("can").descriptor().unwrap();
    assert_eq!(&d[..3], &[200.0 / 255.0, 30.0 / 255.0, 40.0 / 255.0]);
    assert_eq!(&d[6..], &[0.0, 0.0, 0.0, 1.0, 0.0]);
    assert!(pack("crate").descriptor().is_none());
    let crop = SlotCrop::from_rgb(vec![120u8; CROP_SIZE * CROP_SIZE * 3])
        .unwrap()
        .with_layout(2, 2);
    let crops = [
        crop.clone(),
        crop.clone().with_product(&pack("box")),
        // a shape slotnet does not know: no product, no absent reading
        crop.with_product(&pack("crate")),
    ];
    let r = net.infer(&crops).unwrap();
    assert!(r[0].absent.is_none() && r[2].absent.is_none(), "{r:?}");
    let absent = r[1]
        .absent
        .expect("slotnet 3 reads absent for a crop with its product");
    assert!((0.0..=1.0).contains(&absent));
}

#[test]
fn slot_crops_of_any_size_are_resized_and_bad_buffers_refused() {
    let crop = SlotCrop::resize_from(200, 120, &vec![128u8; 200 * 120 * 3]).unwrap();
    assert_eq!(crop.rgb().len(), CROP_SIZE * CROP_SIZE * 3);
    assert!(crop.rgb().iter().all(|&v| v == 128));
    assert!(SlotCrop::resize_from(200, 120, &[0u8; 10]).is_err());
    assert!(SlotCrop::from_rgb(vec![0; 5]).is_err());
}

#[test]
fn models_are_shared_across_threads() {
    let net = Arc::new(SlotNet::load(&manifest(), 8).unwrap());
    let crop = SlotCrop::from_rgb(
        (0..CROP_SIZE * CROP_SIZE * 3)
            .map(|p| (p % 251) as u8)
            .collect(),
    )
    .unwrap()
    .with_layout(2, 3);
    let want = net.infer(std::slice::from_ref(&crop)).unwrap()[0];
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (net, crop) = (net.clone(), crop.clone());
            std::thread::spawn(move || {
                (0..20)
                    .map(|_| net.infer(std::slice::from_ref(&crop)).unwrap()[0])
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for got in h.join().unwrap() {
            assert_eq!(got, want);
        }
    }
}

#[test]
fn forecaster_gives_ordered_non_negative_quantiles_that_follow_the_level() {
    let f = Forecaster::load(&manifest()).unwrap();
    let low = f
        .predict(&history(|i| 2.0 + (i % 7 == 5) as u8 as f32))
        .unwrap();
    let high = f
        .predict(&history(|i| 40.0 + 10.0 * (i % 7 == 5) as u8 as f32))
        .unwrap();
    for fc in [&low, &high] {
        for d in 0..7 {
            assert!(
                0.0 <= fc.p10[d] && fc.p10[d] <= fc.p50[d] && fc.p50[d] <= fc.p90[d],
                "{fc:?}"
            );
        }
    }
    let sum = |v: &[f32; 7]| v.iter().sum::<f32>();
    assert!(
        sum(&high.p50) > 5.0 * sum(&low.p50),
        "low {low:?} high {high:?}"
    );
    // a zero-sales history is valid (slow movers)
    f.predict(&history(|_| 0.0)).unwrap();
}

#[test]
fn forecaster_refuses_nan_inf_negative_and_short_histories() {
    let f = Forecaster::load(&manifest()).unwrap();
    for bad in [f32::NAN, f32::INFINITY, -1.0] {
        let err = f
            .predict(&history(|i| if i == 10 { bad } else { 3.0 }))
            .unwrap_err();
        assert!(matches!(err, ModelError::Input { .. }), "{err}");
        assert!(err.to_string().contains("day 10"), "{err}");
    }
    let short = History {
        days: vec![day(1.0, 0); 5],
    };
    assert!(f.predict(&short).unwrap_err().to_string().contains("28"));
    let mut price = history(|_| 1.0);
    price.days[3].relative_price = f32::NAN;
    assert!(f.predict(&price).is_err());
}

#[test]
fn recommender_ranks_the_catalog_and_reports_unknown_skus() {
    let m = manifest();
    let r = Recommender::load(&m).unwrap();
    let skus: Vec<String> =
        std::fs::read_to_string(m.path(Path::new("vectors/recommender.skus.txt")))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
    let session = [skus[0].as_str(), skus[1].as_str(), "SKU-NOT-IN-CATALOG"];
    let recs = r.score(&session).unwrap();
    assert_eq!(recs.unknown, ["SKU-NOT-IN-CATALOG"]);
    assert_eq!(recs.ranked.len(), r.catalog_len() - 2);
    assert!(recs
        .ranked
        .iter()
        .all(|(s, _)| s != &skus[0] && s != &skus[1]));
    assert!(recs.ranked.windows(2).all(|w| w[0].1 >= w[1].1));
    // only unknown SKUs, or nothing: still a ranking (popularity)
    assert_eq!(r.score(&["nope"]).unwrap().ranked.len(), r.catalog_len());
    assert_eq!(r.score(&[]).unwrap().ranked.len(), r.catalog_len());
}

#[test]
fn text_encoder_handles_empty_long_chinese_and_emoji_text() {
    let t = TextEncoder::load(&manifest()).unwrap();
    let long = "where can I find the organic pasta sauce please ".repeat(250);
    assert!(long.len() >= 10_000);
    for text in [
        "",
        "   ",
        long.as_str(),
        "你好，请问牛奶在哪里？",
        "🍝🍅 pasta?? 🛒",
        "\u{0}\u{7f}\u{200b}",
    ] {
        let r = t.embed(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(r.embedding.len(), 384);
        let norm: f32 = r.embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-2, "{text:?}: norm {norm}");
        assert!(
            r.tokens >= 2 && r.tokens <= 64,
            "{text:?}: {} tokens",
            r.tokens
        );
        assert!(t.intents().contains(&r.intent));
    }
    assert_eq!(t.embed(&long).unwrap().tokens, 64);
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

#[test]
fn text_encoder_runs_each_text_at_its_own_length() {
    let m = manifest();
    let t = TextEncoder::load(&m).unwrap();
    let short = t.embed("where is the oat milk").unwrap();
    assert!(short.tokens < 12, "{} tokens", short.tokens);
    // the engine takes any length from 1 to 64; padding with a 0 mask gives the same reading up
    // to int8 rounding (the dynamic ranges then include the padded rows)
    let engine = t.engine();
    let ids: Vec<i64> = vec![2, 2054, 2003, 1996, 3]; // [CLS] ... [SEP]
    let mask = vec![1i64; ids.len()];
    let run = |ids: &[i64], mask: &[i64]| {
        engine
            .run(
                1,
                &[edge_models::Input::I64(ids), edge_models::Input::I64(mask)],
            )
            .map(|o| o[0].data.clone())
    };
    let own = run(&ids, &mask).unwrap();
    let mut padded_ids = ids.clone();
    padded_ids.resize(64, 0);
    let mut padded_mask = mask.clone();
    padded_mask.resize(64, 0);
    let padded = run(&padded_ids, &padded_mask).unwrap();
    assert!(cosine(&own, &padded) > 0.98, "{}", cosine(&own, &padded));
    for len in [1, 2, 17, 64] {
        let ids: Vec<i64> = (0..len as i64).map(|i| 2 + i % 900).collect();
        let out = run(&ids, &vec![1; len]).unwrap();
        assert_eq!(out.len(), 384, "{len} tokens");
    }
    // ids and mask of different lengths, no tokens at all, or more than the 64 positions the
    // model has: a clear error, no panic
    for (ids, mask) in [
        (vec![2i64, 3], vec![1i64, 1, 1]),
        (vec![], vec![]),
        (vec![5; 65], vec![1; 65]),
    ] {
        let err = run(&ids, &mask).unwrap_err();
        assert!(
            matches!(err, ModelError::Input { .. } | ModelError::Run { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("text_encoder"), "{err}");
        println!("{} ids, {} mask: {err}", ids.len(), mask.len());
    }
    // and it still serves afterwards
    assert_eq!(t.embed("where is the oat milk").unwrap(), short);
}

#[test]
fn a_text_encoder_file_declared_with_64_fixed_positions_is_run_padded() {
    // Files before 2.3.0 take exactly [1, 64]; the runtime pads for them. The 2.3.0 graph
    // accepts 64 positions too, so a manifest declaring [1, 64] (with a padded test vector)
    // exercises that path.
    let (_dir, path) = scratch();
    let m = Manifest::load(&path).unwrap();
    let symbolic = TextEncoder::load(&m).unwrap();
    let entry = m.entry("text_encoder").unwrap();
    let vpath = m.path(&entry.test_vector);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&vpath).unwrap()).unwrap();
    let mut ids: Vec<i64> = v["inputs"][0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as i64)
        .collect();
    let mut mask = vec![1i64; ids.len()];
    ids.resize(64, 0);
    mask.resize(64, 0);
    let out = symbolic
        .engine()
        .run(
            1,
            &[
                edge_models::Input::I64(&ids),
                edge_models::Input::I64(&mask),
            ],
        )
        .unwrap();
    let tensor = |name: &str, shape: &[usize], data: Vec<f64>| {
        serde_json::json!({"name": name, "dtype": if name.ends_with("ids") || name.ends_with("mask") { "i64" } else { "f32" },
                           "shape": shape, "data": data})
    };
    let padded_vector = serde_json::json!({
        "inputs": [tensor("input_ids", &[1, 64], ids.iter().map(|&x| x as f64).collect()),
                   tensor("attention_mask", &[1, 64], mask.iter().map(|&x| x as f64).collect())],
        "outputs": [tensor("embedding", &out[0].shape, out[0].data.iter().map(|&x| x as f64).collect()),
                    tensor("intent_logits", &out[1].shape, out[1].data.iter().map(|&x| x as f64).collect())],
    });
    std::fs::write(&vpath, padded_vector.to_string()).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("shape = [1, \"S\"]", "shape = [1, 64]")).unwrap();
    let m = Manifest::load(&path).unwrap();
    assert!(m.entry("text_encoder").unwrap().inputs[0].shape_text() == "[1, 64]");
    let padded = TextEncoder::load(&m).unwrap();
    for text in ["where is the oat milk", "", &"word ".repeat(3000)] {
        let (a, b) = (padded.embed(text).unwrap(), symbolic.embed(text).unwrap());
        assert_eq!(a.tokens, b.tokens, "{text:.20}");
        assert!(
            cosine(&a.embedding, &b.embedding) > 0.98,
            "{text:.20}: {}",
            cosine(&a.embedding, &b.embedding)
        );
    }
    // a fixed length other than max_tokens is refused with the reason
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("shape = [1, 64]", "shape = [1, 32]")).unwrap();
    let err = TextEncoder::load(&Manifest::load(&path).unwrap())
        .err()
        .unwrap();
    assert!(err.to_string().contains("text_encoder"), "{err}");
}

#[test]
fn sequence_dimensions_are_checked_in_the_manifest() {
    let entry = |inputs: &str, outputs: &str| {
        format!(
            "schema = 1\n[[model]]\nname = \"m\"\nversion = \"0\"\nfile = \"m.onnx\"\nsha256 = \"{}\"\n\
             test_vector = \"v.json\"\ntolerance = 0.0\ninputs = [{{ name = \"x\", dtype = \"i64\", shape = {inputs} }}]\n\
             outputs = [{{ name = \"y\", dtype = \"f32\", shape = {outputs} }}]\n",
            "0".repeat(64)
        )
    };
    let parse = |text: String| Manifest::parse(&text, PathBuf::from("."));
    let m = parse(entry("[1, \"S\"]", "[1, 8]")).unwrap();
    let x = &m.entry("m").unwrap().inputs[0];
    assert_eq!(x.shape_text(), "[1, S]");
    assert_eq!((x.seq_of(1, 12), x.seq_of(1, 0)), (Some(12), None));
    for (inputs, outputs, needle) in [
        ("[\"S\", \"S\"]", "[1, 8]", "more than one S"),
        ("[1, 8]", "[1, \"S\"]", "an output has S but no input does"),
        ("[1, \"T\"]", "[1, 8]", "shape"),
    ] {
        let err = parse(entry(inputs, outputs)).unwrap_err();
        assert!(
            err.contains(needle) || err.contains("data did not match"),
            "{inputs}: {err}"
        );
    }
}

#[test]
fn text_encoder_embeddings_relate_similar_questions() {
    let t = TextEncoder::load(&manifest()).unwrap();
    let e = |s: &str| t.embed(s).unwrap().embedding;
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let a = e("where is the pasta sauce");
    let b = e("in which aisle can I find tomato sauce for spaghetti");
    let c = e("what time do you close today");
    assert!(
        cos(&a, &b) > cos(&a, &c),
        "similar {} vs unrelated {}",
        cos(&a, &b),
        cos(&a, &c)
    );
}

#[test]
fn a_changed_model_file_is_refused_by_hash_and_the_others_still_load() {
    let (_dir, path) = scratch();
    let m = Manifest::load(&path).unwrap();
    let file = m.path(&m.entry("slotnet").unwrap().file);
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&file, bytes).unwrap();
    let err = SlotNet::load(&m, 24).err().unwrap();
    assert!(matches!(err, ModelError::HashMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("slotnet") && err.to_string().contains("sha256"),
        "{err}"
    );
    let set = ModelSet::load(&path, 24).unwrap();
    assert!(set.slotnet.is_none());
    assert_eq!(set.ready(), ["forecaster", "recommender", "text_encoder"]);
}

#[test]
fn missing_and_truncated_model_files_give_clear_errors() {
    let (_dir, path) = scratch();
    let m = Manifest::load(&path).unwrap();
    let entry = m.entry("forecaster").unwrap();
    let file = m.path(&entry.file);
    std::fs::remove_file(&file).unwrap();
    let err = Forecaster::load(&m).err().unwrap();
    assert!(matches!(err, ModelError::File { .. }), "{err}");
    assert!(err.to_string().contains("forecaster"), "{err}");

    // a truncated file whose hash the manifest was (wrongly) updated to: the parser refuses it
    let original = std::fs::read(manifest().path(&entry.file)).unwrap();
    let cut = &original[..original.len() / 3];
    std::fs::write(&file, cut).unwrap();
    edit_manifest(&path, &entry.sha256, &edge_models::sha256_hex(cut));
    let err = Forecaster::load(&Manifest::load(&path).unwrap())
        .err()
        .unwrap();
    assert!(matches!(err, ModelError::Load { .. }), "{err}");
    assert!(err.to_string().contains("forecaster"), "{err}");
}

#[test]
fn a_graph_that_does_not_take_the_declared_shape_is_refused() {
    let (_dir, path) = scratch();
    edit_manifest(
        &path,
        "shape = [\"N\", 3, 64, 64]",
        "shape = [\"N\", 3, 48, 48]",
    );
    let err = SlotNet::load(&Manifest::load(&path).unwrap(), 24)
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            ModelError::Shape { .. } | ModelError::Load { .. } | ModelError::Invalid { .. }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("slotnet"), "{text}");
    println!("wrong shape: {text}");
}

#[test]
fn an_unsupported_operator_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = models_dir().join("tests/fixtures");
    for f in ["unsupported_op.onnx", "tiny_ok.onnx"] {
        std::fs::copy(fixtures.join(f), dir.path().join(f)).unwrap();
    }
    let vector = r#"{"inputs":[{"name":"x","dtype":"f32","shape":[1,4],"data":[-1,0,1,2]}],
                     "outputs":[{"name":"y","dtype":"f32","shape":[1,4],"data":[0,0,1,2]}]}"#;
    std::fs::write(dir.path().join("v.json"), vector).unwrap();
    let sha = |f: &str| edge_models::sha256_hex(&std::fs::read(dir.path().join(f)).unwrap());
    let entry = |name: &str, file: &str| {
        format!(
            "[[model]]\nname = \"{name}\"\nversion = \"0\"\nfile = \"{file}\"\nsha256 = \"{}\"\ntest_vector = \"v.json\"\ntolerance = 0.0\n\
             inputs = [{{ name = \"x\", dtype = \"f32\", shape = [1, 4] }}]\noutputs = [{{ name = \"y\", dtype = \"f32\", shape = [1, 4] }}]\n",
            sha(file)
        )
    };
    let text = format!(
        "schema = 1\n{}\n{}",
        entry("bad", "unsupported_op.onnx"),
        entry("good", "tiny_ok.onnx")
    );
    let path = dir.path().join("manifest.toml");
    std::fs::write(&path, text).unwrap();
    let m = Manifest::load(&path).unwrap();
    let ok = edge_models::Engine::load(&m, "good", &[1]).unwrap();
    assert_eq!(ok.vector_max_diff, 0.0);
    let err = edge_models::Engine::load(&m, "bad", &[1]).err().unwrap();
    assert!(
        matches!(&err, ModelError::UnsupportedOp { ops, .. } if ops == &["QLinearAdd"]),
        "{err}"
    );
    assert!(
        err.to_string().contains("model bad") && err.to_string().contains("QLinearAdd"),
        "{err}"
    );
}

#[test]
fn a_test_vector_that_does_not_reproduce_fails_the_model() {
    let (_dir, path) = scratch();
    let m = Manifest::load(&path).unwrap();
    let vpath = m.path(&m.entry("recommender").unwrap().test_vector);
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&vpath).unwrap()).unwrap();
    let first = &mut v["outputs"][0]["data"][0];
    *first = serde_json::json!(first.as_f64().unwrap() + 1.0);
    std::fs::write(&vpath, v.to_string()).unwrap();
    let err = Recommender::load(&m).err().unwrap();
    assert!(matches!(err, ModelError::TestVector { .. }), "{err}");
}

#[test]
fn malformed_manifests_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("manifest.toml");
    for (text, needle) in [
        ("schema = 1\n[[model]]\nname = 3\n", "name"),
        ("schema = 2\n", "schema 2"),
        ("schema = 1\n[[model\n", "manifest"),
        ("\u{0}\u{1}garbage", "manifest"),
    ] {
        std::fs::write(&p, text).unwrap();
        let err = Manifest::load(&p).unwrap_err().to_string();
        assert!(err.contains(needle), "{text:?}: {err}");
    }
    let err = Manifest::load(&dir.path().join("absent.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.toml"), "{err}");
    let err = ModelSet::load(&dir.path().join("absent.toml"), 1)
        .err()
        .unwrap();
    assert!(matches!(err, ModelError::Manifest { .. }));
}

#[test]
fn from_quad_samples_the_region_and_refuses_a_wrong_buffer() {
    use edge_models::Quad;
    // A 200x100 frame: left half red, right half blue.
    let (w, h) = (200u32, 100u32);
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 3) as usize;
            if x < 100 {
                rgb[i] = 255;
            } else {
                rgb[i + 2] = 255;
            }
        }
    }
    // The right half only: every pixel blue.
    let crop =
        SlotCrop::from_quad(w, h, &rgb, &Quad::rect(100.0, 0.0, 100.0, 100.0).unwrap()).unwrap();
    assert!(crop.rgb().chunks_exact(3).all(|p| p == [0, 0, 255]));
    // Straddling the border: left part red, right part blue.
    let crop =
        SlotCrop::from_quad(w, h, &rgb, &Quad::rect(50.0, 0.0, 100.0, 100.0).unwrap()).unwrap();
    assert_eq!(&crop.rgb()[..3], &[255, 0, 0]);
    assert_eq!(&crop.rgb()[63 * 3..64 * 3], &[0, 0, 255]);
    // A quad partly outside the frame is clamped, not a panic; a short buffer is an error.
    assert!(
        SlotCrop::from_quad(w, h, &rgb, &Quad::rect(150.0, 50.0, 400.0, 400.0).unwrap()).is_ok()
    );
    assert!(
        SlotCrop::from_quad(w, h, &rgb[..10], &Quad::rect(0.0, 0.0, 50.0, 50.0).unwrap()).is_err()
    );
    assert!(SlotCrop::from_quad(0, 0, &[], &Quad::rect(0.0, 0.0, 50.0, 50.0).unwrap()).is_err());
}
