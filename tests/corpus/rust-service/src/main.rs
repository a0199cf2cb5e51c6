use axum::{routing::get, Router};

fn greeting(name: Option<&str>) -> String {
    format!("hello, {}", name.unwrap_or("world"))
}

async fn root() -> String {
    greeting(None)
}

#[tokio::main]
async fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let app = Router::new().route("/", get(root));
    let listener = tokio::net::TcpListener::bind(format!("0.0.0.0:{port}"))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}

#[cfg(test)]
mod tests {
    #[test]
    fn greets() {
        assert_eq!(super::greeting(Some("fleet")), "hello, fleet");
    }
}
