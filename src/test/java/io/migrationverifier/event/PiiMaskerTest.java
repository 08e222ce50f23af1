package io.migrationverifier.event;

import static org.assertj.core.api.Assertions.assertThat;

import io.migrationverifier.canonical.FieldDiff;
import io.migrationverifier.config.ConfigLoader;
import io.migrationverifier.config.VerifierConfig;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class PiiMaskerTest {
  static final String KEY = "pii-key-for-tests-0123456789";

  static VerifierConfig config(String key) {
    return ConfigLoader.parse("""
        name: shop
        source: {type: postgres, database: legacy, user: verifier}
        target: {type: postgres, database: modern, user: verifier}
        verify: {pii-key: "${env:PII_KEY}"}
        tables:
          - name: customers
            key: [id]
            columns:
              - {name: email, pii: hash}
              - {name: phone, pii: mask}
          - name: orders
            key: [id]
        """, Map.of("PII_KEY", key)::get);
  }

  static SortedMap<String, String> row(String... kv) {
    SortedMap<String, String> m = new TreeMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  static String hmac(String key, String value) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "hmac:" + HexFormat.of().formatHex(mac.doFinal(value.getBytes(StandardCharsets.UTF_8)), 0, 16);
  }

  @Test
  void masksAndHashesOnlyTheConfiguredColumnsOfADiscrepancy() throws Exception {
    PiiMasker pii = PiiMasker.forConfig(config(KEY));
    SortedMap<String, String> source = row("id", "7", "email", "ann@example.com", "phone", "+33 1 23", "city", "Lyon");
    SortedMap<String, String> target = row("id", "7", "email", "ann@example.org", "phone", null, "city", "Lyon");
    List<FieldDiff> fields = List.of(new FieldDiff("email", "ann@example.com", "ann@example.org", null),
        new FieldDiff("phone", "+33 1 23", null, null), new FieldDiff("city", "Lyon", "Paris", null));
    Discrepancy d = new Discrepancy("id-1", DiscrepancyKind.VALUE_MISMATCH, "customers", row("id", "7"), "stream",
        1, 2, source, target, fields, null, null, null, null, 3);

    Discrepancy m = pii.mask(d);

    assertThat(m.source()).containsEntry("email", hmac(KEY, "ann@example.com")).containsEntry("phone", "***")
        .containsEntry("city", "Lyon").containsEntry("id", "7");
    assertThat(m.target()).containsEntry("email", hmac(KEY, "ann@example.org")).containsEntry("phone", null);
    assertThat(m.fields()).containsExactly(
        new FieldDiff("email", hmac(KEY, "ann@example.com"), hmac(KEY, "ann@example.org"), null),
        new FieldDiff("phone", "***", null, null), new FieldDiff("city", "Lyon", "Paris", null));
    assertThat(m.key()).isEqualTo(d.key());
    assertThat(m).usingRecursiveComparison().ignoringFields("source", "target", "fields").isEqualTo(d);
    assertThat(new String(EventCodec.encode(m), StandardCharsets.UTF_8))
        .doesNotContain("ann@example", "+33 1 23").contains("hmac:");
    assertThat(d.source()).as("the original is untouched").containsEntry("email", "ann@example.com");
  }

  @Test
  void equalValuesHashEquallyAndTheKeyMatters() {
    PiiMasker a = PiiMasker.forConfig(config(KEY));
    PiiMasker b = PiiMasker.forConfig(config(KEY + "-other"));
    String h = a.value("customers", "email", "x@y.z");
    assertThat(h).matches("hmac:[0-9a-f]{32}");
    assertThat(a.value("customers", "email", "x@y.z")).isEqualTo(h);
    assertThat(a.value("customers", "email", "x@y.zz")).isNotEqualTo(h);
    assertThat(b.value("customers", "email", "x@y.z")).isNotEqualTo(h);
    assertThat(a.value("customers", "email", null)).isNull();
    assertThat(a.value("customers", "phone", "")).isEqualTo("***");
    assertThat(a.value("orders", "email", "x@y.z")).isEqualTo("x@y.z");
  }

  @Test
  void tablesWithoutPiiPassThroughUnchanged() {
    PiiMasker pii = PiiMasker.forConfig(config(KEY));
    Discrepancy d = new Discrepancy("id-2", DiscrepancyKind.MISSING_IN_TARGET, "orders", row("id", "1"), "audit",
        1, 2, row("id", "1", "email", "a@b.c"), null, List.of(), null, null, null, null, 3);
    assertThat(pii.mask(d)).isSameAs(d);
    assertThat(PiiMasker.forConfig(io.migrationverifier.testutil.Configs.withTables(
        "tables: [{name: t, key: [id]}]", null))).isSameAs(PiiMasker.NONE);
  }
}
