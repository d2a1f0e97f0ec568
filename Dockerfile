# aepsflow and the Eko simulator, built from source. Used by docker-compose.yml:
#   docker build -t aepsflow .
#   docker run --rm aepsflow --help
# Classic builder compatible (no BuildKit-only syntax), so docker-compose v1 can build it too.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first: this layer is reused until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static binaries (lib/pq and the Temporal SDK are pure Go), so the runtime image needs no libc.
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags="-s -w" -o /out/aepsflow ./cmd/aepsflow \
 && go build -trimpath -ldflags="-s -w" -o /out/ekosim ./cmd/ekosim

# distroless: CA certificates and tzdata, no shell; :nonroot runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aepsflow /out/ekosim /usr/local/bin/
USER nonroot:nonroot
ENV HTTP_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/aepsflow"]
CMD ["api"]
