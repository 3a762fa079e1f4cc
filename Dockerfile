# Ferry in a container: a static binary (pure-Go SQLite, no cgo) on a minimal base image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/ferry-hq/ferry/server/app.Version=${VERSION}" -o /out/ferry ./server/cmd/ferry

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ferry /usr/local/bin/ferry
ENV FERRY_ADDR=0.0.0.0:8080 FERRY_DATA_DIR=/var/lib/ferry
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ferry"]
CMD ["serve"]
