// A PostgreSQL JDBC client for test/integration/postgres.test.ts, run as a single-file source
// program (JDK 11+): java -cp /usr/share/java/postgresql.jar PgProbe.java <jdbc-url>...
//
// One JVM start is most of the cost of a JDBC login, so it takes several URLs and tries each in
// turn, printing exactly one line per URL, in order: "ok <current_user> <TLS version>" after a
// login and a query (the version as the server's pg_stat_ssl saw it), or "error <class>: <message>
// | <cause class>: <cause message> | ..." (the whole cause chain on one line, since the reason a
// TLS login failed is usually a few causes down). Exits 1 if any URL failed, 0 otherwise.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

public class PgProbe {
  public static void main(String[] args) {
    DriverManager.setLoginTimeout(10);
    int failed = 0;
    for (String url : args) {
      String line;
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement();
          ResultSet r = s.executeQuery("SELECT current_user, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
        line = r.next() ? "ok " + r.getString(1) + " " + r.getString(2) : "error no pg_stat_ssl row for this connection";
      } catch (Throwable e) {
        StringBuilder b = new StringBuilder("error");
        String sep = " ";
        for (Throwable t = e; t != null && t != t.getCause(); t = t.getCause()) {
          b.append(sep).append(t.getClass().getName()).append(": ").append(t.getMessage());
          sep = " | ";
        }
        line = b.toString();
      }
      if (line.startsWith("error")) failed++;
      System.out.println(line.replaceAll("[\\r\\n]+", " "));
      System.out.flush();
    }
    System.exit(failed == 0 ? 0 : 1);
  }
}
