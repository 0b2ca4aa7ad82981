//! text encoder: a shopper's sentence in, a sentence embedding and the intent out.

use crate::engine::{Engine, Input};
use crate::manifest::{Dim, Manifest};
use crate::ModelError;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// Text longer than this many bytes is cut (at a character boundary) before tokenising: the
/// model reads at most `max_tokens` tokens anyway, and this bounds the tokeniser's work.
const MAX_TEXT_BYTES: usize = 4096;

/// What the encoder made of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextReading {
    /// L2-normalised sentence embedding.
    pub embedding: Vec<f32>,
    /// The most likely intent label.
    pub intent: String,
    /// Its softmax probability.
    pub confidence: f32,
    /// Tokens the model read (after truncation, including [CLS] and [SEP]).
    pub tokens: usize,
}

/// Sentence encoder with an intent head.
pub struct TextEncoder {
    engine: Engine,
    tokenizer: Tokenizer,
    intents: Vec<String>,
    max_tokens: usize,
    /// The file takes exactly `max_tokens` positions (up to 2.2.0): pad every text to that.
    /// Otherwise its sequence length is symbolic and a text runs its own tokens only.
    padded: bool,
}

impl TextEncoder {
    /// Loads and verifies the encoder and its tokenizer.
    pub fn load(manifest: &Manifest) -> Result<TextEncoder, ModelError> {
        let engine = Engine::load(manifest, "text_encoder", &[1])?;
        TextEncoder::from_engine(manifest, engine)
    }

    /// Wraps an engine loaded by the caller.
    pub fn from_engine(manifest: &Manifest, engine: Engine) -> Result<TextEncoder, ModelError> {
        let entry = engine.entry();
        let invalid = |reason: String| ModelError::Invalid {
            model: entry.name.clone(),
            reason,
        };
        let path = manifest.path(std::path::Path::new(entry.pre_str("tokenizer")?));
        let max_tokens = entry.pre_f64("max_tokens")? as usize;
        let intents = entry.pre_strings("intents")?;
        let mut tokenizer = Tokenizer::from_file(&path)
            .map_err(|e| invalid(format!("tokenizer {}: {e}", path.display())))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| invalid(format!("tokenizer truncation: {e}")))?;
        let padded = match entry.inputs.iter().map(|i| &i.shape[..]).collect::<Vec<_>>()[..] {
            [[Dim::Fixed(1), Dim::Fixed(a)], [Dim::Fixed(1), Dim::Fixed(b)]]
                if *a == max_tokens && *b == max_tokens =>
            {
                true
            }
            [[Dim::Fixed(1), Dim::Seq(_)], [Dim::Fixed(1), Dim::Seq(_)]] => false,
            _ => {
                return Err(invalid(format!(
                    "inputs must be input_ids and attention_mask of shape [1, S] or [1, {max_tokens}] (max_tokens), not {}",
                    entry
                        .inputs
                        .iter()
                        .map(|i| i.shape_text())
                        .collect::<Vec<_>>()
                        .join(" and ")
                )))
            }
        };
        tokenizer.with_padding(padded.then(|| PaddingParams {
            strategy: PaddingStrategy::Fixed(max_tokens),
            pad_id: 0,
            ..Default::default()
        }));
        let logits = entry
            .outputs
            .get(1)
            .map(|o| o.concrete(1))
            .unwrap_or_default();
        if logits != [1, intents.len()] {
            return Err(invalid(format!(
                "intent_logits shape {logits:?} does not match {} intents",
                intents.len()
            )));
        }
        Ok(TextEncoder {
            engine,
            tokenizer,
            intents,
            max_tokens,
            padded,
        })
    }

    /// Intent labels in logit order.
    pub fn intents(&self) -> &[String] {
        &self.intents
    }

    /// Embeds one text and classifies its intent. Empty text, any script and any length are
    /// accepted (long text is truncated to `max_tokens`).
    pub fn embed(&self, text: &str) -> Result<TextReading, ModelError> {
        let mut cut = text.len().min(MAX_TEXT_BYTES);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let encoding =
            self.tokenizer
                .encode(&text[..cut], true)
                .map_err(|e| ModelError::Input {
                    model: self.engine.entry().name.clone(),
                    reason: format!("tokenising: {e}"),
                })?;
        let ids: Vec<i64> = encoding.get_ids().iter().map(|&i| i as i64).collect();
        let mask: Vec<i64> = encoding
            .get_attention_mask()
            .iter()
            .map(|&m| m as i64)
            .collect();
        let fits = if self.padded {
            ids.len() == self.max_tokens
        } else {
            (1..=self.max_tokens).contains(&ids.len())
        };
        if !fits {
            return Err(ModelError::Input {
                model: self.engine.entry().name.clone(),
                reason: format!(
                    "tokeniser gave {} ids, expected {}{}",
                    ids.len(),
                    if self.padded { "" } else { "1 to " },
                    self.max_tokens
                ),
            });
        }
        let tokens = mask.iter().filter(|&&m| m != 0).count();
        let out = self.engine.run(1, &[Input::I64(&ids), Input::I64(&mask)])?;
        let logits = &out[1].data;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f32 = exp.iter().sum();
        let (best, p) = exp
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, e)| (i, e / sum))
            .unwrap_or((0, 0.0));
        Ok(TextReading {
            embedding: out[0].data.clone(),
            intent: self.intents.get(best).cloned().unwrap_or_default(),
            confidence: p,
            tokens,
        })
    }

    /// The underlying engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
