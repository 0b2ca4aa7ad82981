//! Models: loads, verifies and runs the int8 ONNX models with tract; the only crate that knows tract.
//! Filled by the models issue; the crate exists now so the ARM build covers it from day one.
