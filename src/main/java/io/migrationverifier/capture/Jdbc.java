package io.migrationverifier.capture;

import io.migrationverifier.config.DatabaseSettings;
import io.migrationverifier.config.Dialect;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/** JDBC URLs and connections of a configured database. The password is handed to the driver only. */
public final class Jdbc {
  private Jdbc() {}

  public static String url(DatabaseSettings db) {
    return db.dialect() == Dialect.POSTGRES
        ? "jdbc:postgresql://" + db.host() + ":" + db.port() + "/" + db.database()
        : "jdbc:mariadb://" + db.host() + ":" + db.port() + "/" + db.database();
  }

  public static Connection connect(DatabaseSettings db) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", db.user());
    if (!db.password().isEmpty()) {
      p.setProperty("password", db.password().reveal());
    }
    try {
      return DriverManager.getConnection(url(db), p);
    } catch (SQLException e) {
      // The driver's message names host, port and database; it never contains the password.
      throw new SQLException("cannot connect to " + db.dialect().id() + " " + db.host() + ":" + db.port() + "/"
          + db.database() + " as " + db.user() + ": " + e.getMessage(), e.getSQLState(), e);
    }
  }
}
