package io.migrationverifier.testutil;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throw-away local {@code mariadbd} (Debian package {@code mariadb-server}) prepared for
 * Debezium's MariaDB connector: fresh datadir in a temp directory, a free port on 127.0.0.1,
 * binlog {@code ROW} / {@code FULL}, {@code server-id=1}, utf8mb4, server time zone UTC.
 *
 * <p>Users (created by an init file before the server accepts connections; grant tables are
 * real, {@code --skip-grant-tables} is not used):
 * <ul>
 *   <li>{@link #ADMIN_USER} ({@code admin}, all privileges) for the test's own DDL and writes:
 *       {@link #connect(String)};
 *   <li>{@link #USER} ({@code verifier}) with exactly what the Debezium MariaDB connector
 *       documents: {@code SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT}
 *       (= {@code BINLOG MONITOR} since MariaDB 10.5) plus {@code LOCK TABLES} (snapshot falls
 *       back to table locks where the global read lock is not allowed): hand {@link #USER} /
 *       {@link #PASSWORD} to the engine; {@link #connectAsVerifier(String)}.
 * </ul>
 *
 * <p><b>JVM time zone.</b> Debezium's MariaDB connector reads TIMESTAMP columns during the
 * snapshot with a calendar in the JVM default time zone, so a test that snapshots TIMESTAMP
 * columns must run its JVM in UTC ({@code -Duser.timezone=UTC}, or {@code TimeZone.setDefault} in
 * the test's {@code @BeforeAll}). This class does not change global JVM state.
 */
public final class MariaDbServer implements AutoCloseable {

  public static final String USER = "verifier";
  public static final String PASSWORD = "verifier-pw";
  public static final String ADMIN_USER = "admin";
  public static final String ADMIN_PASSWORD = "admin-pw";

  private static final long STARTUP_TIMEOUT_MS = 60_000;

  private final Path dir;
  private final Process process;
  private final int port;

  /** Where the binaries live, or null when they are not installed. */
  private record Binaries(Path mariadbd, Path installDb) {}

  /** True when {@code mariadbd} and {@code mariadb-install-db} are installed (for assumeTrue). */
  public static boolean available() {
    return locate() != null;
  }

  public static MariaDbServer start() {
    return new MariaDbServer();
  }

  /**
   * Initializes a datadir and starts {@code mariadbd} on it; returns once it accepts connections.
   *
   * @throws IllegalStateException when the binaries are missing (install {@code mariadb-server})
   *     or the server does not come up within 60 s
   */
  public MariaDbServer() {
    Binaries bin = locate();
    if (bin == null) {
      throw new IllegalStateException("mariadbd and mariadb-install-db not found on PATH, "
          + "/usr/sbin or /usr/bin. Install the Debian package: apt-get install -y mariadb-server");
    }
    Process p = null;
    try {
      dir = Files.createTempDirectory("mariadb-test");
      Path data = dir.resolve("data");
      Files.createDirectories(data);
      boolean root = "root".equals(System.getProperty("user.name"));
      List<String> install = new ArrayList<>(List.of(bin.installDb().toString(), "--no-defaults",
          "--datadir=" + data, "--auth-root-authentication-method=socket", "--skip-test-db"));
      if (root) {
        install.add("--user=root");
      }
      runToCompletion(install, dir.resolve("install.log"));

      Path init = dir.resolve("init.sql");
      List<String> sql = new ArrayList<>();
      sql.add("CREATE USER IF NOT EXISTS '" + ADMIN_USER + "'@'%' IDENTIFIED BY '"
          + ADMIN_PASSWORD + "';");
      sql.add("GRANT ALL PRIVILEGES ON *.* TO '" + ADMIN_USER + "'@'%' WITH GRANT OPTION;");
      for (String host : List.of("%", "127.0.0.1", "localhost")) {
        String u = "'" + USER + "'@'" + host + "'";
        sql.add("CREATE USER IF NOT EXISTS " + u + " IDENTIFIED BY '" + PASSWORD + "';");
        sql.add("GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT,"
            + " LOCK TABLES ON *.* TO " + u + ";");
      }
      Files.writeString(init, String.join("\n", sql) + "\n");

      port = freePort();
      List<String> cmd = new ArrayList<>(List.of(bin.mariadbd().toString(), "--no-defaults",
          "--datadir=" + data, "--port=" + port, "--bind-address=127.0.0.1",
          "--socket=" + dir.resolve("mysqld.sock"), "--pid-file=" + dir.resolve("mysqld.pid"),
          "--log-error=" + dir.resolve("error.log"), "--init-file=" + init,
          "--log-bin=" + data.resolve("mysql-bin"), "--binlog-format=ROW",
          "--binlog-row-image=FULL", "--server-id=1", "--character-set-server=utf8mb4",
          "--collation-server=utf8mb4_general_ci", "--default-time-zone=+00:00",
          "--skip-name-resolve"));
      if (root) {
        cmd.add("--user=root");
      }
      p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(dir.resolve("mariadbd.out").toFile()).start();
      process = p;
      awaitReady();
    } catch (IOException | RuntimeException | InterruptedException e) {
      if (p != null) {
        p.destroyForcibly();
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      if (e instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException("could not start mariadbd: " + e, e);
    }
  }

  private void awaitReady() throws InterruptedException {
    long deadline = System.currentTimeMillis() + STARTUP_TIMEOUT_MS;
    SQLException last = null;
    while (System.currentTimeMillis() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("mariadbd exited with " + process.exitValue() + ": "
            + tail(dir.resolve("error.log")));
      }
      try (Connection c = connect("")) {
        return;
      } catch (SQLException e) {
        last = e;
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
    process.destroyForcibly();
    throw new IllegalStateException("mariadbd did not accept connections on port " + port
        + " within " + STARTUP_TIMEOUT_MS + " ms (" + last + "): " + tail(dir.resolve("error.log")));
  }

  public int port() {
    return port;
  }

  public String jdbcUrl(String db) {
    return "jdbc:mariadb://127.0.0.1:" + port + "/" + db;
  }

  /** A connection as {@link #ADMIN_USER} (all privileges). */
  public Connection connect(String db) throws SQLException {
    return DriverManager.getConnection(jdbcUrl(db), ADMIN_USER, ADMIN_PASSWORD);
  }

  /** A connection as the capture user {@link #USER}. */
  public Connection connectAsVerifier(String db) throws SQLException {
    return DriverManager.getConnection(jdbcUrl(db), USER, PASSWORD);
  }

  public void createDatabase(String name) throws SQLException {
    try (Connection c = connect(""); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE `" + name.replace("`", "``") + "` CHARACTER SET utf8mb4");
    }
  }

  @Override
  public void close() {
    try {
      process.destroy(); // SIGTERM: clean shutdown
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    } finally {
      deleteRecursively(dir);
    }
  }

  private static Binaries locate() {
    List<Path> dirs = new ArrayList<>();
    for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!d.isEmpty()) {
        dirs.add(Paths.get(d));
      }
    }
    dirs.add(Paths.get("/usr/sbin"));
    dirs.add(Paths.get("/usr/bin"));
    Path server = find(dirs, "mariadbd");
    Path install = find(dirs, "mariadb-install-db");
    return server == null || install == null ? null : new Binaries(server, install);
  }

  private static Path find(List<Path> dirs, String name) {
    for (Path d : dirs) {
      Path p = d.resolve(name);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  private static void runToCompletion(List<String> cmd, Path log)
      throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .start();
    if (!p.waitFor(STARTUP_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(cmd.get(0) + " timed out: " + tail(log));
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(cmd.get(0) + " exited with " + p.exitValue() + ": "
          + tail(log));
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  private static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no " + file + ")";
    }
  }

  private static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException | UncheckedIOException e) {
      // best effort: a temp directory
    }
  }
}
