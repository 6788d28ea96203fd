package io.countersign.tracking;

import io.countersign.wire.spi.ResultColumn;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal PostgreSQL v3 protocol client for tests: it keeps the backend's RowDescription fields and
 * DataRow bodies byte for byte, which is what a {@link io.countersign.wire.spi.ResultObserver} sees
 * from the proxy (pgjdbc does not expose them). Trust or cleartext-password authentication only.
 */
final class RawPgClient implements AutoCloseable {

    /** One statement's result as it came off the wire. */
    record Result(List<ResultColumn> columns, short[] formats, List<byte[]> rows, String commandTag) {
        long rowsAffected() {
            if (commandTag == null) {
                return -1;
            }
            String[] parts = commandTag.split(" ");
            return switch (parts[0]) {
                case "INSERT", "UPDATE", "DELETE", "MERGE" -> Long.parseLong(parts[parts.length - 1]);
                default -> -1;
            };
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;

    RawPgClient(String host, int port, String user, String password, String database) throws IOException {
        socket = new Socket(host, port);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        DataOutputStream b = new DataOutputStream(body);
        b.writeInt(196608);
        cstring(b, "user");
        cstring(b, user);
        cstring(b, "database");
        cstring(b, database);
        b.writeByte(0);
        out.writeInt(body.size() + 4);
        out.write(body.toByteArray());
        out.flush();
        while (true) {
            int type = in.readUnsignedByte();
            byte[] msg = new byte[in.readInt() - 4];
            in.readFully(msg);
            if (type == 'R') {
                int code = ((msg[0] & 0xff) << 24) | ((msg[1] & 0xff) << 16) | ((msg[2] & 0xff) << 8) | (msg[3] & 0xff);
                if (code == 3) {
                    ByteArrayOutputStream pw = new ByteArrayOutputStream();
                    cstring(new DataOutputStream(pw), password == null ? "" : password);
                    send('p', pw.toByteArray());
                } else if (code != 0) {
                    throw new IOException("RawPgClient supports trust and cleartext authentication only; the server asked for method " + code);
                }
            } else if (type == 'E') {
                throw new IOException("startup failed: " + new String(msg, StandardCharsets.UTF_8));
            } else if (type == 'Z') {
                return;
            }
        }
    }

    /** Simple query protocol: every result is text. Returns one Result per statement in the string. */
    List<Result> query(String sql) throws IOException {
        ByteArrayOutputStream q = new ByteArrayOutputStream();
        cstring(new DataOutputStream(q), sql);
        send('Q', q.toByteArray());
        return readResults();
    }

    /** Extended protocol with text parameters and the given result format codes (Bind semantics). */
    Result execute(String sql, List<String> params, short... resultFormats) throws IOException {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(p);
        cstring(d, "");
        cstring(d, sql);
        d.writeShort(0);
        send('P', p.toByteArray());

        ByteArrayOutputStream bind = new ByteArrayOutputStream();
        d = new DataOutputStream(bind);
        cstring(d, "");
        cstring(d, "");
        d.writeShort(0);
        d.writeShort(params.size());
        for (String v : params) {
            if (v == null) {
                d.writeInt(-1);
            } else {
                byte[] bytes = v.getBytes(StandardCharsets.UTF_8);
                d.writeInt(bytes.length);
                d.write(bytes);
            }
        }
        d.writeShort(resultFormats.length);
        for (short f : resultFormats) {
            d.writeShort(f);
        }
        send('B', bind.toByteArray());
        send('D', new byte[] {'P', 0});
        send('E', new byte[] {0, 0, 0, 0, 0});
        send('S', new byte[0]);
        List<Result> results = readResults();
        if (results.size() != 1) {
            throw new IOException("expected one result, got " + results.size());
        }
        return results.get(0);
    }

    private List<Result> readResults() throws IOException {
        List<Result> results = new ArrayList<>();
        List<ResultColumn> columns = List.of();
        short[] formats = new short[0];
        List<byte[]> rows = new ArrayList<>();
        String error = null;
        while (true) {
            int type = in.readUnsignedByte();
            byte[] msg = new byte[in.readInt() - 4];
            in.readFully(msg);
            switch (type) {
                case 'T' -> {
                    DataInputStream m = new DataInputStream(new java.io.ByteArrayInputStream(msg));
                    int n = m.readUnsignedShort();
                    List<ResultColumn> cols = new ArrayList<>();
                    formats = new short[n];
                    for (int i = 0; i < n; i++) {
                        String name = readCString(m);
                        int tableOid = m.readInt();
                        int attnum = m.readShort();
                        m.readInt(); // type oid
                        m.readShort(); // typlen
                        m.readInt(); // typmod
                        formats[i] = m.readShort();
                        cols.add(new ResultColumn(name, tableOid, attnum, null, null, null));
                    }
                    columns = cols;
                }
                case 'D' -> rows.add(msg);
                case 'C' -> {
                    results.add(new Result(columns, formats, rows, new String(msg, 0, msg.length - 1, StandardCharsets.UTF_8)));
                    columns = List.of();
                    formats = new short[0];
                    rows = new ArrayList<>();
                }
                case 'E' -> error = new String(msg, StandardCharsets.UTF_8).replace('\0', ' ');
                case 'Z' -> {
                    if (error != null) {
                        throw new IOException("query failed: " + error);
                    }
                    return results;
                }
                default -> { } // ParseComplete, BindComplete, NoData, notices, parameter status
            }
        }
    }

    private void send(char type, byte[] body) throws IOException {
        out.writeByte(type);
        out.writeInt(body.length + 4);
        out.write(body);
        out.flush();
    }

    private static void cstring(DataOutputStream d, String s) throws IOException {
        d.write(s.getBytes(StandardCharsets.UTF_8));
        d.writeByte(0);
    }

    private static String readCString(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) > 0) {
            b.write(c);
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        try {
            send('X', new byte[0]);
        } finally {
            socket.close();
        }
    }
}
