package io.migrationverifier.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.FieldDiff;
import io.migrationverifier.check.KeyCheck;
import io.migrationverifier.event.RepairEvents;
import io.migrationverifier.repair.RepairEngine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * The JSON answer of {@code POST /check} (and {@code check --repair --json}):
 * {@code {"table","key","verdict","fields":[{name,source,target,missingOn}],"source","target",
 * "checkedAt","repair":null|{"status","policy","reason","logged","log"}}}; rows are canonical text
 * by logical column, null when absent.
 */
public final class CheckJson {
  static final ObjectMapper JSON = new ObjectMapper();

  private CheckJson() {}

  public static ObjectNode toJson(OnDemandCheck.Result r) {
    return toJson(r, true);
  }

  /**
   * @param withImages false for a table with {@code pii} columns: the repair log entry's before- and
   *                   after-images hold the exact values (undo needs them on the topic), so the
   *                   answer leaves them out
   */
  public static ObjectNode toJson(OnDemandCheck.Result r, boolean withImages) {
    KeyCheck.Result c = r.check();
    ObjectNode o = JSON.createObjectNode();
    o.put("table", c.key().table());
    o.set("key", map(c.key().key()));
    o.put("verdict", c.verdict().name());
    ArrayNode fields = o.putArray("fields");
    for (FieldDiff f : c.fields()) {
      ObjectNode x = fields.addObject();
      x.put("name", f.name());
      x.put("source", f.source());
      x.put("target", f.target());
      x.put("missingOn", f.missingOn());
    }
    o.set("source", row(c.source()));
    o.set("target", row(c.target()));
    o.put("checkedAt", c.checkedAt());
    RepairEngine.Outcome rep = r.repair();
    if (rep == null) {
      o.putNull("repair");
    } else {
      ObjectNode x = o.putObject("repair");
      x.put("status", rep.status().name());
      x.put("policy", rep.policy());
      x.put("reason", rep.reason());
      x.put("logged", r.logged());
      if (rep.log() != null) {
        try {
          ObjectNode log = (ObjectNode) JSON.readTree(RepairEvents.encode(rep.log()));
          if (!withImages) {
            log.remove(List.of("before", "after"));
            log.put("imagesOmitted", "the table has pii columns: read them on the repairs log topic");
          }
          x.set("log", log);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      } else {
        x.putNull("log");
      }
    }
    return o;
  }

  public static ObjectNode error(String message) {
    ObjectNode o = JSON.createObjectNode();
    o.put("error", message);
    return o;
  }

  public static String text(Object node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static ObjectNode row(CanonicalRow r) {
    return r == null ? null : map(r.values());
  }

  private static ObjectNode map(Map<String, String> m) {
    ObjectNode o = JSON.createObjectNode();
    m.forEach(o::put);
    return o;
  }
}
