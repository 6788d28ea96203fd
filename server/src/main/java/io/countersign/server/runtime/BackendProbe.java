package io.countersign.server.runtime;

import io.countersign.server.admin.ReadinessCheck;
import io.countersign.server.config.BackendConfig;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * Readiness of one backend: connects and sends a PostgreSQL SSLRequest, which every PostgreSQL
 * server answers with one byte ('S' or 'N') before any authentication. That proves a PostgreSQL
 * server (not just any open port) answers, without logging in.
 */
public final class BackendProbe implements ReadinessCheck {

    private static final int TIMEOUT_MS = 1000;
    private static final int SSL_REQUEST_CODE = 80877103;

    private final BackendConfig backend;

    public BackendProbe(BackendConfig backend) {
        this.backend = backend;
    }

    @Override
    public Status check() {
        String where = backend.host() + ":" + backend.port();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(backend.host(), backend.port()), TIMEOUT_MS);
            s.setSoTimeout(TIMEOUT_MS);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(8);
            out.writeInt(SSL_REQUEST_CODE);
            out.flush();
            int answer = new DataInputStream(s.getInputStream()).read();
            if (answer == 'S' || answer == 'N') {
                return Status.ready("PostgreSQL answers at " + where);
            }
            return Status.notReady("something at " + where + " answered, but not like PostgreSQL (byte " + answer + ")");
        } catch (IOException e) {
            return Status.notReady("no answer from " + where + ": " + e.getMessage());
        }
    }
}
