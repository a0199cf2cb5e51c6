#![deny(clippy::all)]

use napi_derive::napi;

/// Adler-32 checksum of `data`.
#[napi]
pub fn adler32(data: String) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for byte in data.bytes() {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}
