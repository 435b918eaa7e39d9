# exc in a small image with git (for diff, history and audit) and OpenSSH's
# ssh-keygen (for signing). Build: docker build -t exc . ; run in a registry:
#   docker run --rm -v "$PWD:/repo" -w /repo exc check --fail-on-expired
# Pass --build-arg EXC_BUILD_COMMIT=$(git rev-parse --short=12 HEAD) so that
# `exc --version` names the commit (the build context has no .git).
FROM rust:1.89-slim-bookworm AS build
WORKDIR /src
ARG EXC_BUILD_COMMIT=""
ENV EXC_BUILD_COMMIT=${EXC_BUILD_COMMIT}
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY schema ./schema
COPY benches ./benches
COPY examples ./examples
RUN cargo build --release --locked --bin exc \
 && strip target/release/exc

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
COPY --from=build /src/target/release/exc /usr/local/bin/exc
WORKDIR /repo
ENTRYPOINT ["exc"]
CMD ["--help"]
