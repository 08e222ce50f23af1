package io.migrationverifier.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.migrationverifier.testutil.PostgresServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run} as an operator starts it: a separate JVM on a config file, stopped with SIGTERM.
 * It must come up, shut down cleanly on SIGTERM (exit 143, replication slots released), and
 * {@code run --cleanup} must then drop the slots and publications it created.
 */
class RunCommandIT {

  @Test
  void runStopsCleanlyOnSigtermAndCleanupDropsTheSlots(@TempDir Path dir) throws Exception {
    try (PostgresServer pg = PostgresServer.start()) {
      pg.createDatabase("legacy");
      pg.createDatabase("modern");
      for (String db : List.of("legacy", "modern")) {
        try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
          s.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT)");
          s.execute("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
        }
      }
      Path config = Files.writeString(dir.resolve("run.yaml"), """
          name: runit
          kafka: {bootstrap-servers: embedded, embedded-port: 0, partitions: 2}
          http: {port: 0}
          source: {type: postgres, host: localhost, port: %d, database: legacy, user: postgres}
          target: {type: postgres, host: localhost, port: %d, database: modern, user: postgres}
          verify: {window: 2s, state-dir: "%s"}
          tables:
            - {name: items, key: [id]}
          """.formatted(pg.port(), pg.port(), dir.resolve("state")));

      Process run = java("run", "--config", config.toString());
      List<String> output = collect(run);
      await().atMost(Duration.ofSeconds(90)).until(() -> output.stream().anyMatch(l -> l.startsWith("running [")));
      await().atMost(Duration.ofSeconds(60)).until(() -> activeSlots(pg) == 2);
      assertThat(run.isAlive()).isTrue();

      run.destroy(); // SIGTERM
      assertThat(run.waitFor(60, TimeUnit.SECONDS)).as("stopped within 60 s").isTrue();
      assertThat(run.exitValue()).as("the JVM's exit code for SIGTERM, after a clean shutdown: " + output)
          .isEqualTo(143);
      assertThat(activeSlots(pg)).as("captures released their replication slots").isZero();
      assertThat(slots(pg)).containsExactlyInAnyOrder("mv_runit_source", "mv_runit_target");

      Process cleanup = java("run", "--config", config.toString(), "--cleanup");
      List<String> cleanupOut = collect(cleanup);
      assertThat(cleanup.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(cleanup.exitValue()).as(String.join("\n", cleanupOut)).isZero();
      assertThat(cleanupOut).anyMatch(l -> l.contains("dropped replication slot mv_runit_source"));
      assertThat(slots(pg)).isEmpty();
    }
  }

  private static Process java(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).start();
  }

  private static List<String> collect(Process p) {
    List<String> lines = new CopyOnWriteArrayList<>();
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          lines.add(line);
        }
      } catch (java.io.IOException ignored) {
        // the process ended
      }
    });
    t.setDaemon(true);
    t.start();
    return lines;
  }

  private static int activeSlots(PostgresServer pg) throws Exception {
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_replication_slots WHERE active")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static List<String> slots(PostgresServer pg) throws Exception {
    List<String> out = new java.util.ArrayList<>();
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT slot_name FROM pg_replication_slots")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }
}
