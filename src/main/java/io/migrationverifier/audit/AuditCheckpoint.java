package io.migrationverifier.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.canonical.CanonicalKey;
import io.migrationverifier.event.DiscrepancyKind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The progress of one table's audit, saved after every segment to
 * {@code <verify.state-dir>/audit/<table>.json} (a temp file moved over the old one, so a crash
 * leaves the previous checkpoint or the new one, never half of one). {@code audit --resume}
 * continues after the last completed segment with the suspects found so far.
 *
 * @param segmentation  {@code key} or {@code time:<column>}: a checkpoint of another segmentation is not resumed
 * @param lower         key mode: the upper bound of the last completed segment (null = none yet)
 * @param timeStart     time mode: the first window's start and the last one's, epoch ms (the plan,
 *                      so a resumed audit cuts the same windows)
 * @param segmentsDone  completed segments
 * @param scanDone      every segment is done; only the re-check of the suspects is left
 */
public record AuditCheckpoint(String table, String segmentation, List<String> lower, Long timeStart, Long timeEnd,
    int segmentsDone, int differingSegments, long sourceRows, long targetRows, long elapsedMs, boolean scanDone,
    List<Suspect> suspects) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public AuditCheckpoint {
    lower = lower == null ? null : List.copyOf(lower);
    suspects = List.copyOf(suspects);
  }

  /**
   * A row that differed during the scan, not yet re-checked.
   *
   * @param sourceHash the canonical hash of the source row as seen (null = absent)
   */
  public record Suspect(CanonicalKey key, DiscrepancyKind kind, long foundAt, String sourceHash,
      String targetHash) {}

  public static Path file(Path stateDir, String table) {
    return stateDir.resolve("audit").resolve(table + ".json");
  }

  public static Optional<AuditCheckpoint> read(Path file) {
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      JsonNode n = JSON.readTree(file.toFile());
      List<String> lower = null;
      if (n.hasNonNull("lower")) {
        lower = new ArrayList<>();
        for (JsonNode v : n.get("lower")) {
          lower.add(v.isNull() ? null : v.asText());
        }
      }
      List<Suspect> suspects = new ArrayList<>();
      for (JsonNode s : n.path("suspects")) {
        TreeMap<String, String> key = new TreeMap<>();
        s.get("key").fields().forEachRemaining(e -> key.put(e.getKey(), e.getValue().isNull() ? null
            : e.getValue().asText()));
        suspects.add(new Suspect(new CanonicalKey(n.get("table").asText(), key),
            DiscrepancyKind.valueOf(s.get("kind").asText()), s.get("foundAt").asLong(), text(s, "sourceHash"),
            text(s, "targetHash")));
      }
      return Optional.of(new AuditCheckpoint(n.get("table").asText(), n.get("segmentation").asText(), lower,
          n.hasNonNull("timeStart") ? n.get("timeStart").asLong() : null,
          n.hasNonNull("timeEnd") ? n.get("timeEnd").asLong() : null, n.get("segmentsDone").asInt(),
          n.get("differingSegments").asInt(), n.get("sourceRows").asLong(), n.get("targetRows").asLong(),
          n.get("elapsedMs").asLong(), n.get("scanDone").asBoolean(), suspects));
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("audit checkpoint " + file + " cannot be read (" + e.getMessage()
          + "): delete it and run without --resume", e);
    }
  }

  private static String text(JsonNode n, String field) {
    return n.hasNonNull(field) ? n.get(field).asText() : null;
  }

  public void write(Path file) {
    ObjectNode n = JSON.createObjectNode();
    n.put("table", table);
    n.put("segmentation", segmentation);
    if (lower != null) {
      ArrayNode a = n.putArray("lower");
      lower.forEach(a::add);
    }
    if (timeStart != null) {
      n.put("timeStart", timeStart);
      n.put("timeEnd", timeEnd);
    }
    n.put("segmentsDone", segmentsDone);
    n.put("differingSegments", differingSegments);
    n.put("sourceRows", sourceRows);
    n.put("targetRows", targetRows);
    n.put("elapsedMs", elapsedMs);
    n.put("scanDone", scanDone);
    ArrayNode a = n.putArray("suspects");
    for (Suspect s : suspects) {
      ObjectNode o = a.addObject();
      ObjectNode k = o.putObject("key");
      s.key().key().forEach(k::put);
      o.put("kind", s.kind().name());
      o.put("foundAt", s.foundAt());
      o.put("sourceHash", s.sourceHash());
      o.put("targetHash", s.targetHash());
    }
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      JSON.writeValue(tmp.toFile(), n);
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the audit checkpoint " + file + " (verify.state-dir): "
          + e.getMessage(), e);
    }
  }
}
