package io.countersign.approvals.store;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Instant;

/**
 * The default store: an embedded H2 database in one file, durable across restarts. Opening it marks
 * requests left pending by the previous run ABANDONED, since their connections died with it.
 */
public final class H2ApprovalStore extends JdbcApprovalStore {

    private final String url;
    private final int abandonedAtOpen;

    private H2ApprovalStore(Path file, Instant now) {
        super("H2 file " + file);
        Path base = file.toAbsolutePath();
        String name = base.toString();
        if (name.endsWith(".mv.db")) {
            name = name.substring(0, name.length() - ".mv.db".length());
        }
        // FILE_LOCK=FS: the operating system's lock on the file itself, so a second process opening the same
        // store fails instead of corrupting it, and the lock dies with a killed process. (FILE, H2's lock file,
        // keeps a watchdog thread that rewrites approvals.lock.db every second and could put it back just
        // after close removed it.)
        this.url = "jdbc:h2:file:" + name + ";FILE_LOCK=FS;DB_CLOSE_ON_EXIT=FALSE";
        createSchema();
        this.abandonedAtOpen = abandonPending(null, now);
    }

    /** Opens (creating if needed) the store at {@code file} (H2 adds {@code .mv.db}). */
    public static H2ApprovalStore open(Path file) {
        return new H2ApprovalStore(file, Instant.now());
    }

    /** How many pending requests the previous run left behind, now ABANDONED. */
    public int abandonedAtOpen() {
        return abandonedAtOpen;
    }

    @Override
    Connection open() throws SQLException {
        return DriverManager.getConnection(url, "sa", "");
    }

    @Override
    String textType() {
        return "CLOB";
    }
}
