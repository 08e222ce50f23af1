package io.migrationverifier.ops;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.migrationverifier.canonical.Canonicalizer;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.repair.Failures;
import io.migrationverifier.repair.OpsKafka;
import io.migrationverifier.repair.RepairEngine;
import java.io.IOException;
import java.sql.SQLException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * {@code POST /check}: {@code {"table":"orders","key":{"id":"42"},"repair":false}} answers 200 with
 * {@link CheckJson}; 400 for a bad request (not JSON, unknown table or field, key columns that are
 * not the table's key, a key value its column cannot hold); 409 when a repair kept meeting newer
 * target data; 503 when a database is unreachable; 500 when the repair failed (the answer carries
 * the check and the error) or was done but its log entry could not be written to Kafka (the answer
 * carries the entry).
 */
public final class CheckRoute {
  private static final Set<String> FIELDS = Set.of("table", "key", "repair");

  private final OnDemandCheck checks;

  public CheckRoute(OnDemandCheck checks) {
    this.checks = checks;
  }

  /**
   * The endpoint of {@code run}: {@code POST /check} on {@code http.bind}:{@code http.port},
   * writing repair outputs to {@code bootstrapServers}; not started.
   */
  public static HttpEndpoint endpoint(VerifierConfig config, String bootstrapServers) {
    KafkaProducer<byte[], byte[]> producer = OpsKafka.producer(config, bootstrapServers, "http-check");
    OnDemandCheck checks = new OnDemandCheck(config, Canonicalizer.forConfig(config), producer);
    return new HttpEndpoint()
        .route("POST", "/check", new CheckRoute(checks)::handle)
        .closing(checks)
        .closing(producer);
  }

  public HttpEndpoint.Response handle(HttpEndpoint.Request req) {
    JsonNode n;
    try {
      n = CheckJson.JSON.readTree(req.body());
    } catch (JsonProcessingException e) {
      throw new HttpEndpoint.BadRequest("the body is not valid JSON: " + e.getOriginalMessage()
          + "; send {\"table\":\"orders\",\"key\":{\"id\":\"42\"},\"repair\":false}");
    } catch (IOException e) {
      throw new HttpEndpoint.BadRequest("cannot read the body: " + e.getMessage());
    }
    if (n == null || !n.isObject()) {
      throw new HttpEndpoint.BadRequest("the body must be a JSON object: {\"table\":\"orders\",\"key\":{\"id\":\"42\"}"
          + ",\"repair\":false}");
    }
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!FIELDS.contains(f)) {
        throw new HttpEndpoint.BadRequest("unknown field \"" + f + "\"; allowed: table, key, repair");
      }
    }
    JsonNode t = n.get("table");
    if (t == null || !t.isTextual() || t.asText().isBlank()) {
      throw new HttpEndpoint.BadRequest("\"table\" must be a logical table name (string)");
    }
    JsonNode k = n.get("key");
    if (k == null || !k.isObject() || k.isEmpty()) {
      throw new HttpEndpoint.BadRequest("\"key\" must be an object of key column to value, e.g. {\"id\":\"42\"}");
    }
    Map<String, String> key = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = k.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isValueNode() || e.getValue().isNull()) {
        throw new HttpEndpoint.BadRequest("\"key." + e.getKey() + "\" must be a string or a number");
      }
      key.put(e.getKey(), e.getValue().asText());
    }
    JsonNode r = n.get("repair");
    if (r != null && !r.isBoolean() && !r.isNull()) {
      throw new HttpEndpoint.BadRequest("\"repair\" must be true or false");
    }
    boolean repair = r != null && r.asBoolean();
    try {
      return HttpEndpoint.Response.json(200, CheckJson.toJson(checks.check(t.asText(), key, repair),
          !checks.masksPii(t.asText())));
    } catch (IllegalArgumentException e) {
      throw new HttpEndpoint.BadRequest(e.getMessage());
    } catch (SQLException e) {
      if (Failures.classify(e) == Failures.Kind.OUTAGE) {
        return HttpEndpoint.Response.error(503, "a database is unreachable: " + e.getMessage());
      }
      return HttpEndpoint.Response.error(500, "the check failed: " + e.getMessage());
    } catch (RepairEngine.StaleRepairException e) {
      return HttpEndpoint.Response.error(409, e.getMessage() + "; try again");
    } catch (OnDemandCheck.RepairFailedException e) {
      var body = CheckJson.toJson(new OnDemandCheck.Result(e.check(), null, false, java.util.List.of()));
      body.put("error", "the repair failed: " + e.getMessage());
      return HttpEndpoint.Response.json(500, body);
    } catch (OnDemandCheck.OutputsLostException e) {
      var body = CheckJson.toJson(e.result(), !checks.masksPii(e.result().check().key().table()));
      body.put("error", "repaired, but the repair log entry could not be written to Kafka (" + e.getMessage()
          + "): it is in this answer; keep it, undo needs it");
      return HttpEndpoint.Response.json(500, body);
    }
  }
}
