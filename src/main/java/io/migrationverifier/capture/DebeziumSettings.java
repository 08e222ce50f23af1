package io.migrationverifier.capture;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

/**
 * Debezium embedded-engine properties used by the capture side of the verifier.
 *
 * <p>One place for every setting that shapes the change events, so that the golden files under
 * {@code src/test/resources/golden} (captured by {@code GoldenCapture} with exactly these
 * properties) describe what the product really receives. Checked against Debezium 3.5.0.Final.
 *
 * <p>The returned {@link Properties} contain the database password: never log them. Use
 * {@link #redacted(Properties)} for anything that is printed.
 */
public final class DebeziumSettings {

  public static final String POSTGRES_CONNECTOR = "io.debezium.connector.postgresql.PostgresConnector";
  public static final String MARIADB_CONNECTOR = "io.debezium.connector.mariadb.MariaDbConnector";

  /** Keys whose values must never be printed. */
  private static final List<String> SECRET_KEYS = List.of("database.password");

  private DebeziumSettings() {}

  /** PostgreSQL (pgoutput logical decoding) engine properties. */
  public static Properties postgres(
      String engineName,
      String host,
      int port,
      String db,
      String user,
      String password,
      String slotName,
      String publicationName,
      Path offsetFile,
      List<String> tableIncludeList) {
    Properties p = common(engineName, POSTGRES_CONNECTOR, host, port, user, password, offsetFile,
        tableIncludeList);
    p.setProperty("database.dbname", Objects.requireNonNull(db, "db"));
    // pgoutput is built into PostgreSQL >= 10: no server-side plugin to install.
    p.setProperty("plugin.name", "pgoutput");
    // A slot and a publication per engine: two engines sharing a slot steal each other's changes.
    p.setProperty("slot.name", Objects.requireNonNull(slotName, "slotName"));
    p.setProperty("publication.name", Objects.requireNonNull(publicationName, "publicationName"));
    // Publish only the included tables (not every table of the database) when Debezium creates
    // the publication; a pre-created publication with this name is used as is.
    p.setProperty("publication.autocreate.mode", "filtered");
    // PostgreSQL spells its TLS switch differently from the binlog connectors.
    p.setProperty("database.sslmode", "disable");
    // hstore as a JSON string (comparable as a document) rather than a Connect map.
    p.setProperty("hstore.handling.mode", "json");
    // INTERVAL as exact ISO-8601 text (P1Y2M...) instead of lossy microseconds.
    p.setProperty("interval.handling.mode", "string");
    return p;
  }

  /** MariaDB (binlog) engine properties. */
  public static Properties mariadb(
      String engineName,
      String host,
      int port,
      String db,
      String user,
      String password,
      long serverId,
      Path offsetFile,
      Path schemaHistoryFile,
      List<String> tableIncludeList) {
    Properties p = common(engineName, MARIADB_CONNECTOR, host, port, user, password, offsetFile,
        tableIncludeList);
    // Only read the binlog events (and snapshot) of the database we verify.
    p.setProperty("database.include.list", Objects.requireNonNull(db, "db"));
    // The engine joins the replication topology as a replica: its id must be unique per server.
    p.setProperty("database.server.id", Long.toString(serverId));
    p.setProperty("database.ssl.mode", "disable");
    // The binlog connector must keep the table DDL history to decode row events; a local file
    // avoids the default Kafka-topic history.
    p.setProperty("schema.history.internal", "io.debezium.storage.file.history.FileSchemaHistory");
    p.setProperty("schema.history.internal.file.filename",
        Objects.requireNonNull(schemaHistoryFile, "schemaHistoryFile").toAbsolutePath().toString());
    // BIGINT UNSIGNED values above Long.MAX_VALUE overflow to negative numbers with the default
    // 'long'; 'precise' emits an org.apache.kafka.connect.data.Decimal (scale 0) instead.
    p.setProperty("bigint.unsigned.handling.mode", "precise");
    // MariaDB has no BOOLEAN type: BOOLEAN columns are TINYINT(1). Emit them as Connect booleans
    // so that they compare with PostgreSQL BOOLEAN.
    p.setProperty("converters", "boolean");
    p.setProperty("boolean.type", "io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter");
    return p;
  }

  /** A copy with secrets replaced by {@code ********}, safe to print. */
  public static Properties redacted(Properties props) {
    Properties copy = new Properties();
    copy.putAll(props);
    for (String key : SECRET_KEYS) {
      if (copy.containsKey(key)) {
        copy.setProperty(key, "********");
      }
    }
    return copy;
  }

  private static Properties common(
      String engineName,
      String connectorClass,
      String host,
      int port,
      String user,
      String password,
      Path offsetFile,
      List<String> tableIncludeList) {
    Objects.requireNonNull(engineName, "engineName");
    Properties p = new Properties();
    p.setProperty("name", engineName);
    p.setProperty("connector.class", connectorClass);
    // Required by every connector; it is the first segment of topic and schema names
    // (e.g. "<engineName>.public.traps.Value").
    p.setProperty("topic.prefix", engineName);

    p.setProperty("database.hostname", Objects.requireNonNull(host, "host"));
    p.setProperty("database.port", Integer.toString(port));
    p.setProperty("database.user", Objects.requireNonNull(user, "user"));
    p.setProperty("database.password", password == null ? "" : password);
    p.setProperty("table.include.list", String.join(",", Objects.requireNonNull(tableIncludeList,
        "tableIncludeList")));

    // Offsets (LSN / binlog position) in a local file, so a restart resumes without a re-snapshot.
    p.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
    p.setProperty("offset.storage.file.filename",
        Objects.requireNonNull(offsetFile, "offsetFile").toAbsolutePath().toString());
    // Flush offsets every second rather than every minute (the default), to bound re-delivery
    // after a crash.
    p.setProperty("offset.flush.interval.ms", "1000");

    // JSON with schemas: every event carries the Connect schema of each column (type, logical
    // name, parameters), which the canonicalizer needs to interpret the values. The embedded
    // engine applies "converter.*" to both the key and the value JsonConverter.
    p.setProperty("converter.schemas.enable", "true");
    // Only affects Connect Decimal values that are still Decimal despite decimal.handling.mode
    // = string, i.e. MariaDB BIGINT UNSIGNED in 'precise' mode: a JSON number instead of base64
    // bytes of the unscaled value.
    p.setProperty("converter.decimal.format", "NUMERIC");
    // Add __debezium.source.column.type / .length / .scale to the schema parameters of every
    // column, so that e.g. NUMERIC(12,4) vs DECIMAL(12,2) or CHAR(8) are visible in each event.
    p.setProperty("column.propagate.source.type", ".*");

    // DECIMAL/NUMERIC as plain strings: exact, readable, scale kept ("1.8000"); the default
    // 'precise' gives base64 bytes, and unconstrained PG NUMERIC a nested struct.
    p.setProperty("decimal.handling.mode", "string");
    // Every temporal type as ISO-8601 text, keeping the full source precision and avoiding
    // per-type integer encodings (days, millis, micros, nanos).
    p.setProperty("time.precision.mode", "isostring");
    // Binary columns as base64 strings, independent of the converter's byte handling.
    p.setProperty("binary.handling.mode", "base64");

    // A delete is one 'd' event; a tombstone (null value) would only matter for Kafka compaction.
    p.setProperty("tombstones.on.delete", "false");
    // Only row changes: no DDL events in the stream.
    p.setProperty("include.schema.changes", "false");
    // The default 500 ms poll adds up to half a second of latency per batch.
    p.setProperty("poll.interval.ms", "20");
    return p;
  }
}
