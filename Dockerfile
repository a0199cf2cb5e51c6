# drover's own image: a release build cached apart from the source, run on
# distroless as non-root. The state store lives in /var/lib/drover (mount a
# volume there); fleet.yaml, policies/ and templates/ are mounted at
# /etc/drover. Tokens come from the environment or mounted files, never
# from fleet.yaml literals.
#
#   docker build -t drover .
#   docker run --rm -v "$PWD:/etc/drover:ro" -v drover-state:/var/lib/drover \
#     -e GITHUB_TOKEN -p 9184:9184 drover            # the daemon
#   docker run --rm ... drover sweep                 # one sweep
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: only Cargo.toml/Cargo.lock changes
# rebuild it. Every target a manifest declares needs a stub here, or cargo
# refuses the manifest (tests/cli/conventions.rs checks it).
COPY Cargo.toml Cargo.lock ./
COPY tests/emulator/Cargo.toml tests/emulator/Cargo.toml
RUN mkdir -p src benches tests/emulator/src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs tests/emulator/src/lib.rs \
 && echo 'fn main() {}' > tests/emulator/src/main.rs \
 && echo 'fn main() {}' > benches/sweep.rs \
 && echo 'fn main() {}' > benches/migrate.rs \
 && cargo build --release --locked --bin drover \
 && rm -rf src benches tests/emulator/src
COPY . .
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin drover

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/drover /usr/local/bin/drover
WORKDIR /etc/drover
ENV DROVER_CONFIG=/etc/drover/fleet.yaml \
    DROVER_STATE_DIR=/var/lib/drover
EXPOSE 9184
ENTRYPOINT ["/usr/local/bin/drover"]
CMD ["daemon", "--listen", "0.0.0.0:9184"]
