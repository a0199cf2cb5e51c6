use std::io::{Read, Write};
use std::net::TcpListener;

/// Answers every request with 200, including the health probes.
fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind("0.0.0.0:9090")?;
    for stream in listener.incoming() {
        let mut stream = stream?;
        let mut buf = [0; 1024];
        let _ = stream.read(&mut buf)?;
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")?;
    }
    Ok(())
}
