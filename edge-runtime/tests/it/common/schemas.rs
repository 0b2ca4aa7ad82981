//! Validates payloads against the JSON Schemas in `schemas/` at the repository root.
#![allow(dead_code)]

use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/../schemas/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The schema with its `envelope.json` reference inlined (validation runs offline).
pub fn schema(name: &str) -> Value {
    let mut schema = load(name);
    if let Some(all_of) = schema.get_mut("allOf").and_then(Value::as_array_mut) {
        for part in all_of.iter_mut() {
            if part.get("$ref").and_then(Value::as_str) == Some("envelope.json") {
                let mut envelope = load("envelope");
                if let Some(obj) = envelope.as_object_mut() {
                    obj.remove("$id");
                    obj.remove("$schema");
                }
                *part = envelope;
            }
        }
    }
    schema
}

/// Panics with every validation error when `value` does not match schema `name`.
pub fn assert_valid(name: &str, value: &Value) {
    let validator = jsonschema::validator_for(&schema(name))
        .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "payload does not match {name}: {errors:?}\n{value}"
    );
}

/// Whether `value` matches schema `name`.
pub fn is_valid(name: &str, value: &Value) -> bool {
    jsonschema::validator_for(&schema(name))
        .map(|v| v.is_valid(value))
        .unwrap_or(false)
}
