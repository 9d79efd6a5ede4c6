FROM golang:1.26 AS build
WORKDIR /src
COPY . .
RUN go build -o /belfry ./cmd/belfry

FROM debian:bookworm-slim
COPY --from=build /belfry /usr/local/bin/belfry
ENTRYPOINT []
