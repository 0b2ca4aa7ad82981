//! Sensors: cameras and serial shelf devices (camera frames, scales, scanners, probes).
//! Filled by the sensors issue; the crate exists now so the ARM build covers it from day one.
