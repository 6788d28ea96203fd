package io.countersign.server.demo;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo's backend: PostgreSQL 16 from zonky's Maven Central binaries (checked to run as root on
 * our machines), started on a free port of 127.0.0.1 with trust authentication, holding the
 * {@code shop} database.
 */
public final class DemoDatabase implements AutoCloseable {

    public static final String DATABASE = "shop";

    private static final Logger log = LoggerFactory.getLogger(DemoDatabase.class);

    private final EmbeddedPostgres postgres;
    private final Path dir;
    private final boolean temporary;

    private DemoDatabase(EmbeddedPostgres postgres, Path dir, boolean temporary) {
        this.postgres = postgres;
        this.dir = dir;
        this.temporary = temporary;
    }

    /**
     * Starts the database in {@code dataDir} (kept, and reused on the next start) or, when null, in
     * a temporary directory removed by {@link #close()}.
     */
    public static DemoDatabase start(Path dataDir) throws IOException, SQLException {
        boolean temporary = dataDir == null;
        Path dir = temporary ? Files.createTempDirectory("countersign-demo-") : dataDir.toAbsolutePath();
        Files.createDirectories(dir);
        EmbeddedPostgres pg = null;
        try {
            long t0 = System.nanoTime();
            pg = EmbeddedPostgres.builder()
                    .setDataDirectory(dir.resolve("postgres"))
                    .setCleanDataDirectory(temporary)
                    .start();
            log.info("embedded PostgreSQL on 127.0.0.1:{} in {} ms (data in {})", pg.getPort(), (System.nanoTime() - t0) / 1_000_000, dir);
            DemoDatabase db = new DemoDatabase(pg, dir, temporary);
            db.loadShop();
            return db;
        } catch (IOException | SQLException | RuntimeException | Error e) {
            if (pg != null) {
                closeQuietly(pg);
            }
            if (temporary) {
                deleteTree(dir);
            }
            throw e;
        }
    }

    private void loadShop() throws SQLException {
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'")) {
                if (r.next()) {
                    log.info("database {} already exists in {}; keeping it", DATABASE, dir);
                    return;
                }
            }
            s.execute("CREATE DATABASE " + DATABASE);
        }
        try (Connection c = connect(DATABASE)) {
            ShopData.create(c);
        }
    }

    /** A direct connection as the superuser, bypassing Countersign (setup and checks only). */
    public Connection connect(String database) throws SQLException {
        return postgres.getDatabase("postgres", database).getConnection();
    }

    public int port() {
        return postgres.getPort();
    }

    public Path directory() {
        return dir;
    }

    public boolean temporary() {
        return temporary;
    }

    @Override
    public void close() {
        closeQuietly(postgres);
        if (temporary) {
            deleteTree(dir);
        }
    }

    private static void closeQuietly(EmbeddedPostgres pg) {
        try {
            pg.close();
        } catch (IOException | RuntimeException e) {
            log.warn("stopping the embedded PostgreSQL failed: {}", e.getMessage());
        }
    }

    /** Best effort, and tolerant of files vanishing meanwhile (PostgreSQL removes its pid file as it stops). */
    private static void deleteTree(Path dir) {
        for (int attempt = 0; attempt < 5 && Files.exists(dir); attempt++) {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException ignored) {
                        // retried by the next attempt
                    }
                });
            } catch (IOException | java.io.UncheckedIOException e) {
                // a file disappeared during the walk: walk again
            }
        }
        if (Files.exists(dir)) {
            log.warn("could not remove the demo's temporary directory {}", dir);
        }
    }
}
