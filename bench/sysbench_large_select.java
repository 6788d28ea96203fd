import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

/**
 * Streams a large MySQL SELECT through a JDBC driver with a fetch size (the driver reads rows as
 * they come instead of buffering the result) and prints the throughput in MiB/s of column text.
 * Usage: java -cp DRIVER.jar bench/sysbench_large_select.java URL USER PASSWORD SQL EXPECTED_ROWS
 * (a file name other than the class's is fine for a single-file source launch).
 */
public class SysbenchLargeSelect {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        String user = args[1];
        String password = args[2];
        String sql = args[3];
        long expected = Long.parseLong(args[4]);
        try (Connection c = DriverManager.getConnection(url, user, password);
             Statement s = c.createStatement()) {
            s.setFetchSize(10_000);
            long start = System.nanoTime();
            long bytes = 0;
            long seen = 0;
            try (ResultSet rs = s.executeQuery(sql)) {
                int columns = rs.getMetaData().getColumnCount();
                while (rs.next()) {
                    for (int i = 1; i <= columns; i++) {
                        String v = rs.getString(i);
                        bytes += v == null ? 0 : v.length();
                    }
                    seen++;
                }
            }
            double secs = (System.nanoTime() - start) / 1e9;
            if (seen != expected) {
                throw new IllegalStateException("expected " + expected + " rows, got " + seen);
            }
            System.out.printf("%.1f%n", bytes / 1048576.0 / secs);
        }
    }
}
