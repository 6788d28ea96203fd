package io.countersign.wire.pg;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A PostgreSQL client on a raw socket, for what real drivers never send: garbage, bad lengths,
 * truncated messages, and reading slowly. Logs in with MD5 (the test listener enables it).
 */
final class RawClient implements AutoCloseable {

    record Msg(char type, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** An ErrorResponse/NoticeResponse field, e.g. 'C' for the SQLSTATE. */
        String field(char code) {
            Map<Character, String> f = new HashMap<>();
            int p = 0;
            while (p < body.length && body[p] != 0) {
                char k = (char) body[p++];
                int z = p;
                while (body[z] != 0) {
                    z++;
                }
                f.put(k, new String(body, p, z - p, StandardCharsets.UTF_8));
                p = z + 1;
            }
            return f.get(code);
        }
    }

    final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;

    RawClient(InetSocketAddress address) throws IOException {
        socket = new Socket();
        socket.connect(address, 5000);
        socket.setSoTimeout(15_000);
        in = new DataInputStream(new java.io.BufferedInputStream(socket.getInputStream(), 65536));
        out = new DataOutputStream(socket.getOutputStream());
    }

    void send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    static byte[] startupPacket(String user, String database, int version) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String s : new String[] {"user", user, "database", database}) {
            b.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            b.write(0);
        }
        b.write(0);
        byte[] body = b.toByteArray();
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        int len = body.length + 8;
        p.writeBytes(new byte[] {(byte) (len >>> 24), (byte) (len >>> 16), (byte) (len >>> 8), (byte) len});
        p.writeBytes(new byte[] {(byte) (version >>> 24), (byte) (version >>> 16), (byte) (version >>> 8), (byte) version});
        p.writeBytes(body);
        return p.toByteArray();
    }

    static byte[] message(char type, byte[] body) {
        byte[] m = new byte[body.length + 5];
        m[0] = (byte) type;
        int len = body.length + 4;
        m[1] = (byte) (len >>> 24);
        m[2] = (byte) (len >>> 16);
        m[3] = (byte) (len >>> 8);
        m[4] = (byte) len;
        System.arraycopy(body, 0, m, 5, body.length);
        return m;
    }

    static byte[] query(String sql) {
        byte[] s = sql.getBytes(StandardCharsets.UTF_8);
        byte[] body = new byte[s.length + 1];
        System.arraycopy(s, 0, body, 0, s.length);
        return message('Q', body);
    }

    static byte[] cstrings(String... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String s : parts) {
            b.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            b.write(0);
        }
        return b.toByteArray();
    }

    static byte[] parse(String name, String sql) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(cstrings(name, sql));
        b.write(0);
        b.write(0);
        return message('P', b.toByteArray());
    }

    /** Bind with text parameters. */
    static byte[] bind(String portal, String statement, String... params) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(cstrings(portal, statement));
        b.write(0);
        b.write(0); // no format codes: all text
        b.write(params.length >>> 8);
        b.write(params.length);
        for (String p : params) {
            byte[] v = p.getBytes(StandardCharsets.UTF_8);
            b.writeBytes(new byte[] {(byte) (v.length >>> 24), (byte) (v.length >>> 16), (byte) (v.length >>> 8), (byte) v.length});
            b.writeBytes(v);
        }
        b.write(0);
        b.write(0);
        return message('B', b.toByteArray());
    }

    static byte[] execute(String portal) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(cstrings(portal));
        b.writeBytes(new byte[4]);
        return message('E', b.toByteArray());
    }

    static byte[] sync() {
        return message('S', new byte[0]);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    Msg read() throws IOException {
        char type = (char) in.readUnsignedByte();
        int len = in.readInt();
        byte[] body = new byte[len - 4];
        in.readFully(body);
        return new Msg(type, body);
    }

    /** Reads messages until one of the given type (inclusive); returns all read. */
    List<Msg> readUntil(char type) throws IOException {
        List<Msg> all = new ArrayList<>();
        while (true) {
            Msg m = read();
            all.add(m);
            if (m.type() == type) {
                return all;
            }
        }
    }

    /** Logs in with whichever of SCRAM-SHA-256 or MD5 the server asks for, and reads up to the first ReadyForQuery. */
    RawClient login(String user, String password, String database) throws IOException {
        send(startupPacket(user, database, 196608));
        Msg auth = read();
        int code = java.nio.ByteBuffer.wrap(auth.body()).getInt();
        if (auth.type() == 'R' && code == 5) {
            byte[] salt = java.util.Arrays.copyOfRange(auth.body(), 4, 8);
            String answer = Scram.md5Response(user, password, salt);
            send(message('p', (answer + "\0").getBytes(StandardCharsets.UTF_8)));
        } else if (auth.type() == 'R' && code == 10) {
            Scram.Client scram = new Scram.Client(password);
            byte[] first = scram.first();
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.writeBytes(cstrings("SCRAM-SHA-256"));
            b.writeBytes(java.nio.ByteBuffer.allocate(4).putInt(first.length).array());
            b.writeBytes(first);
            send(message('p', b.toByteArray()));
            Msg cont = read();
            String serverFirst = new String(cont.body(), 4, cont.body().length - 4, StandardCharsets.UTF_8);
            send(message('p', scram.last(serverFirst)));
        } else {
            throw new IOException("unexpected authentication request " + auth.type() + " " + code);
        }
        List<Msg> msgs = readUntil('Z');
        for (Msg m : msgs) {
            if (m.type() == 'E') {
                throw new IOException("login failed: " + m.field('M'));
            }
        }
        return this;
    }

    /** True when the server closed the connection (EOF) within the socket timeout. */
    boolean closedByServer() throws IOException {
        try {
            while (true) {
                if (in.read() < 0) {
                    return true;
                }
            }
        } catch (EOFException e) {
            return true;
        } catch (java.net.SocketException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
