package io.countersign.server.runtime;

import io.countersign.server.config.BackendConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.Arrays;

/**
 * The first packet a MySQL server sends on a new connection (its greeting), read without logging
 * in, over TCP or the backend's Unix socket. Readiness checks and the version agents are shown use it.
 */
final class MySqlGreeting {

    /** Enough for the protocol version and the server version string. */
    private static final int MAX_PAYLOAD = 256;

    private MySqlGreeting() {}

    /** The greeting's payload (at most 256 bytes; first byte 10 for a greeting, 0xff for an error), or empty bytes. */
    static byte[] read(BackendConfig b, int timeoutMs) throws IOException {
        return b.viaSocket() ? overSocket(b.socket(), timeoutMs) : overTcp(b, timeoutMs);
    }

    private static byte[] overTcp(BackendConfig b, int timeoutMs) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(b.host(), b.port()), timeoutMs);
            s.setSoTimeout(timeoutMs);
            InputStream in = s.getInputStream();
            byte[] head = in.readNBytes(4);
            return head.length == 4 ? in.readNBytes(Math.min(payloadLength(head), MAX_PAYLOAD)) : new byte[0];
        }
    }

    /** java.net.Socket has no Unix sockets; a non-blocking channel keeps the timeout a hung server would need. */
    private static byte[] overSocket(String path, int timeoutMs) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX); Selector selector = Selector.open()) {
            ch.connect(UnixDomainSocketAddress.of(path));
            ch.configureBlocking(false);
            ch.register(selector, SelectionKey.OP_READ);
            ByteBuffer buf = ByteBuffer.allocate(4 + MAX_PAYLOAD);
            long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
            int wanted = 4;
            while (buf.position() < wanted) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    throw new IOException("no greeting within " + timeoutMs + " ms");
                }
                selector.select(left);
                selector.selectedKeys().clear();
                if (ch.read(buf) < 0) {
                    break;
                }
                if (wanted == 4 && buf.position() >= 4) {
                    wanted = 4 + Math.min(payloadLength(buf.array()), MAX_PAYLOAD);
                }
            }
            return buf.position() <= 4 ? new byte[0] : Arrays.copyOfRange(buf.array(), 4, Math.min(buf.position(), wanted));
        }
    }

    private static int payloadLength(byte[] head) {
        return (head[0] & 0xff) | (head[1] & 0xff) << 8 | (head[2] & 0xff) << 16;
    }
}
