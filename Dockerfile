# syntax=docker/dockerfile:1
# The verifier image: `docker build -t migration-verifier .` (docker-compose.yml builds it too).
# Stage 1 builds the shaded jar with Maven; stage 2 is a plain JRE running it as a non-root user.

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /build
COPY pom.xml ./
COPY src ./src
# the demo config ships inside the jar (see the resources of pom.xml)
COPY config/demo.yaml ./config/demo.yaml
# The local Maven repository is a BuildKit cache: a rebuild after editing a source file does not
# download the dependencies again. Locked: the three verifier services of docker-compose.yml build
# this image at the same time, and two Maven runs must not write one repository together.
RUN --mount=type=cache,target=/root/.m2,sharing=locked mvn -B -DskipTests package

FROM eclipse-temurin:17-jre
# A fixed non-root uid, owner of the state directory: Debezium offsets, RocksDB state and audit
# checkpoints live there (verify.state-dir), on a volume in docker-compose.yml.
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin verifier \
    && mkdir -p /app /var/lib/migration-verifier /config \
    && chown verifier:verifier /var/lib/migration-verifier
COPY --from=build /build/target/migration-verifier.jar /app/migration-verifier.jar
USER verifier
WORKDIR /app
# Size the heap from the container's memory limit, not the host's.
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=60"
VOLUME ["/var/lib/migration-verifier"]
# http.port of config/compose.yaml: status page, /metrics, /health, /ready, /check
EXPOSE 8087
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
    CMD curl -fsS http://localhost:8087/health > /dev/null || exit 1
ENTRYPOINT ["java", "-jar", "/app/migration-verifier.jar"]
CMD ["run", "--config", "/config/compose.yaml"]
