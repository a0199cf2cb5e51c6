use axum::{routing::get, Router};

async fn sample_total() -> String {
    orders_domain::total(&[(1, 250)]).to_string()
}

#[tokio::main]
async fn main() {
    let app = Router::new()
        .route("/orders/sample-total", get(sample_total))
        .route("/livez", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000")
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn sample() {
        assert_eq!(super::sample_total().await, "250");
    }
}
