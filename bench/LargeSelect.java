import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

/** Streams an N-row SELECT with a fetch size through pgjdbc and prints the throughput in MiB/s. */
public class LargeSelect {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        String user = args[1];
        String password = args.length > 2 ? args[2] : "";
        long rows = Long.parseLong(args.length > 3 ? args[3] : "1000000");
        try (Connection c = DriverManager.getConnection(url, user, password)) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.setFetchSize(10_000);
                long start = System.nanoTime();
                long bytes = 0;
                long seen = 0;
                try (ResultSet rs = s.executeQuery("SELECT g, md5(g::text) AS h, now() AS t FROM generate_series(1, " + rows + ") g")) {
                    while (rs.next()) {
                        bytes += 8 + rs.getString(2).length() + rs.getString(3).length();
                        seen++;
                    }
                }
                double secs = (System.nanoTime() - start) / 1e9;
                if (seen != rows) {
                    throw new IllegalStateException("expected " + rows + " rows, got " + seen);
                }
                System.out.printf("%.1f%n", bytes / 1048576.0 / secs);
            }
        }
    }
}
