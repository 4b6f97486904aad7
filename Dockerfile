# A static pairgate binary on a distroless base, running as a non-root user.
#   docker build -t pairgate .
#   docker run -p 8080:8080 -v pairgate-data:/data pairgate
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/pairgate ./cmd/pairgate \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pairgate /pairgate
# The data directory belongs to the non-root user (uid 65532) so that the
# first start can create the database and the master key in it.
COPY --from=build --chown=65532:65532 /out/data /data
ENV PAIRGATE_DATA_DIR=/data
USER 65532:65532
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=6s CMD ["/pairgate", "health", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/pairgate"]
CMD ["serve"]
