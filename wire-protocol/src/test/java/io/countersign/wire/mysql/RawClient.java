package io.countersign.wire.mysql;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A bare-socket MySQL client for sending what no driver would. */
final class RawClient implements AutoCloseable {

    record Reply(int sequenceId, byte[] payload) {
        boolean isErr() { return payload.length > 0 && (payload[0] & 0xFF) == 0xFF; }
        boolean isOk() { return payload.length > 0 && payload[0] == 0; }
        int errorCode() { return (payload[1] & 0xFF) | (payload[2] & 0xFF) << 8; }
        String message() { return new String(payload, 9, payload.length - 9, StandardCharsets.UTF_8); }
    }

    final Socket socket;
    final InputStream in;
    final OutputStream out;
    byte[] nonce;
    long connectionId;

    RawClient(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    Reply read() throws IOException {
        byte[] h = in.readNBytes(4);
        if (h.length < 4) {
            return null;
        }
        int len = (h[0] & 0xFF) | (h[1] & 0xFF) << 8 | (h[2] & 0xFF) << 16;
        return new Reply(h[3] & 0xFF, in.readNBytes(len));
    }

    Reply greeting() throws IOException {
        Reply g = read();
        byte[] p = g.payload();
        int i = 1;
        while (p[i] != 0) {
            i++;
        }
        i += 1;
        connectionId = (p[i] & 0xFFL) | (p[i + 1] & 0xFFL) << 8 | (p[i + 2] & 0xFFL) << 16 | (p[i + 3] & 0xFFL) << 24;
        i += 4;
        nonce = new byte[20];
        System.arraycopy(p, i, nonce, 0, 8);
        int part2 = i + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10;
        System.arraycopy(p, part2, nonce, 8, 12);
        return g;
    }

    void send(int seq, byte[] payload) throws IOException {
        byte[] frame = new byte[4 + payload.length];
        frame[0] = (byte) payload.length;
        frame[1] = (byte) (payload.length >> 8);
        frame[2] = (byte) (payload.length >> 16);
        frame[3] = (byte) seq;
        System.arraycopy(payload, 0, frame, 4, payload.length);
        out.write(frame);
        out.flush();
    }

    /** Logs in with mysql_native_password (the fixture's listener announces it). */
    Reply login(String user, String password, String database) throws IOException {
        greeting();
        int caps = Capabilities.PROTOCOL_41 | Capabilities.SECURE_CONNECTION | Capabilities.PLUGIN_AUTH
                | Capabilities.CONNECT_WITH_DB | Capabilities.MULTI_RESULTS | Capabilities.LONG_PASSWORD;
        byte[] proof = Scramble.nativeProof(password.getBytes(StandardCharsets.UTF_8), nonce);
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(caps).putInt(1 << 24).put((byte) 45).put(new byte[23]);
        b.put(user.getBytes(StandardCharsets.UTF_8)).put((byte) 0);
        b.put((byte) proof.length).put(proof);
        b.put(database.getBytes(StandardCharsets.UTF_8)).put((byte) 0);
        b.put(Scramble.NATIVE.getBytes(StandardCharsets.US_ASCII)).put((byte) 0);
        send(1, Arrays.copyOf(b.array(), b.position()));
        return read();
    }

    void query(int seq, String sql) throws IOException {
        byte[] q = sql.getBytes(StandardCharsets.UTF_8);
        byte[] p = new byte[q.length + 1];
        p[0] = 0x03;
        System.arraycopy(q, 0, p, 1, q.length);
        send(seq, p);
    }

    /** True when the server closed the connection (EOF or reset). */
    boolean closedByServer() {
        try {
            return in.read() < 0;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
