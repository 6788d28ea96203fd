package io.countersign.wire.mysql;

import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.ProtocolError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;

/**
 * Countersign as a MySQL client logging in to the backend with the BackendTarget's credentials:
 * reads the server's greeting, answers with mysql_native_password or caching_sha2_password (fast
 * path, full authentication over TLS or with the server's RSA key), follows AuthSwitchRequest.
 */
final class BackendLogin {

    sealed interface Step {
        record Send(ByteBuf payload) implements Step {}
        /** The greeting asks for TLS first: send this SSLRequest, start TLS, then call {@link #afterTls}. */
        record StartTls(ByteBuf sslRequest) implements Step {}
        record Wait() implements Step {}
        record Done() implements Step {}
        record Failed(ProtocolError error) implements Step {}
    }

    static final int CHARSET_UTF8MB4 = 45;

    private final BackendTarget target;
    private final String database;
    private final int clientCapabilities;
    private final int charset;
    private final String preferredPlugin;
    private final byte[] password;
    private boolean tls;
    private int capabilities;
    private byte[] nonce;
    private String plugin;
    private boolean awaitingKey;

    String serverVersion;
    long threadId;
    int serverStatus;
    int serverCapabilities;

    BackendLogin(BackendTarget target, String database, int clientCapabilities, int charset, String preferredPlugin) {
        this.target = target;
        this.database = database;
        this.clientCapabilities = clientCapabilities;
        this.charset = charset;
        this.preferredPlugin = preferredPlugin;
        this.password = target.password() == null ? new byte[0] : target.password().getBytes(StandardCharsets.UTF_8);
    }

    Step greeting(ByteBufAllocator alloc, ByteBuf p) {
        ByteBuf b = p.duplicate();
        int protocol = b.readUnsignedByte();
        if (protocol == 0xFF) {
            return new Step.Failed(ServerPackets.readErr(p));
        }
        if (protocol != 10) {
            return failed("it sent handshake protocol " + protocol + " instead of 10");
        }
        serverVersion = Wire.readNulString(b);
        threadId = b.readUnsignedIntLE();
        byte[] part1 = Wire.readBytes(b, 8, "the greeting's scramble");
        b.skipBytes(1);
        int caps = b.readUnsignedShortLE();
        b.skipBytes(1); // charset
        serverStatus = b.readUnsignedShortLE();
        caps |= b.readUnsignedShortLE() << 16;
        int authLength = b.readUnsignedByte();
        b.skipBytes(10);
        int part2Length = Math.max(13, authLength - 8);
        byte[] part2 = Wire.readBytes(b, Math.min(part2Length, b.readableBytes()), "the greeting's scramble");
        nonce = new byte[8 + Math.max(0, part2.length - 1)];
        System.arraycopy(part1, 0, nonce, 0, 8);
        System.arraycopy(part2, 0, nonce, 8, nonce.length - 8);
        String announced = b.isReadable() ? Wire.readNulStringOrRest(b) : Scramble.NATIVE;
        serverCapabilities = caps;
        if ((caps & Capabilities.PROTOCOL_41) == 0) {
            return failed("it does not speak protocol 4.1");
        }
        if ((clientCapabilities & Capabilities.DEPRECATE_EOF) != 0 && (caps & Capabilities.DEPRECATE_EOF) == 0) {
            return failed("the agent's driver uses CLIENT_DEPRECATE_EOF and the backend does not support it");
        }
        capabilities = (clientCapabilities & Capabilities.RELAYED & caps)
                | Capabilities.PROTOCOL_41 | Capabilities.SECURE_CONNECTION
                | (caps & (Capabilities.PLUGIN_AUTH | Capabilities.PLUGIN_AUTH_LENENC_CLIENT_DATA | Capabilities.LOCAL_FILES));
        if (database != null && !database.isEmpty()) {
            capabilities |= Capabilities.CONNECT_WITH_DB;
        }
        plugin = preferredPlugin != null ? preferredPlugin : announced;
        if (!Scramble.NATIVE.equals(plugin) && !Scramble.CACHING_SHA2.equals(plugin)) {
            plugin = Scramble.NATIVE;
        }
        boolean wantTls = target.tls() != null && target.tls() != BackendTarget.TlsMode.DISABLE;
        if (wantTls && (caps & Capabilities.SSL) != 0) {
            capabilities |= Capabilities.SSL;
            ByteBuf req = alloc.buffer(32);
            req.writeIntLE(capabilities).writeIntLE(1 << 30).writeByte(charset).writeZero(23);
            return new Step.StartTls(req);
        }
        if (target.tls() == BackendTarget.TlsMode.REQUIRE || target.tls() == BackendTarget.TlsMode.VERIFY_FULL) {
            return failed("its target requires TLS (tls=" + target.tls() + ") and the server does not offer it");
        }
        return new Step.Send(response(alloc));
    }

    Step afterTls(ByteBufAllocator alloc) {
        tls = true;
        return new Step.Send(response(alloc));
    }

    boolean tls() {
        return tls;
    }

    int capabilities() {
        return capabilities;
    }

    private ByteBuf response(ByteBufAllocator alloc) {
        ByteBuf b = alloc.buffer(128);
        b.writeIntLE(capabilities).writeIntLE(1 << 30).writeByte(charset).writeZero(23);
        Wire.writeNulString(b, target.user());
        byte[] proof = Scramble.proof(plugin, password, nonce);
        if ((capabilities & Capabilities.PLUGIN_AUTH_LENENC_CLIENT_DATA) != 0) {
            Wire.writeLenencBytes(b, proof);
        } else {
            b.writeByte(proof.length).writeBytes(proof);
        }
        if ((capabilities & Capabilities.CONNECT_WITH_DB) != 0) {
            Wire.writeNulString(b, database);
        }
        if ((capabilities & Capabilities.PLUGIN_AUTH) != 0) {
            Wire.writeNulString(b, plugin);
        }
        return b;
    }

    /** The server's answer during authentication. */
    Step answer(ByteBufAllocator alloc, ByteBuf p) {
        int h = p.getUnsignedByte(p.readerIndex());
        switch (h) {
            case 0x00 -> {
                serverStatus = ServerPackets.readOk(p).flags();
                return new Step.Done();
            }
            case 0xFF -> {
                return new Step.Failed(ServerPackets.readErr(p));
            }
            case 0xFE -> {
                ByteBuf b = p.duplicate().skipBytes(1);
                plugin = Wire.readNulStringOrRest(b);
                byte[] data = new byte[b.readableBytes()];
                b.readBytes(data);
                int end = data.length;
                if (end > 0 && data[end - 1] == 0) {
                    end--;
                }
                nonce = java.util.Arrays.copyOf(data, end);
                if (!Scramble.NATIVE.equals(plugin) && !Scramble.CACHING_SHA2.equals(plugin)) {
                    return failed("it asked to switch to authentication plugin '" + plugin
                            + "', which Countersign does not speak; give the backend user mysql_native_password or caching_sha2_password");
                }
                return new Step.Send(alloc.buffer().writeBytes(Scramble.proof(plugin, password, nonce)));
            }
            case 0x01 -> {
                if (awaitingKey) {
                    awaitingKey = false;
                    try {
                        String pem = p.toString(p.readerIndex() + 1, p.readableBytes() - 1, StandardCharsets.US_ASCII);
                        byte[] enc = Scramble.rsaEncrypt(Scramble.parsePem(pem), Scramble.maskedPassword(password, nonce));
                        return new Step.Send(alloc.buffer(enc.length).writeBytes(enc));
                    } catch (GeneralSecurityException | IllegalArgumentException e) {
                        return failed("its RSA public key could not be used: " + e.getMessage());
                    }
                }
                int more = p.readableBytes() > 1 ? p.getUnsignedByte(p.readerIndex() + 1) : -1;
                if (more == 0x03) {
                    return new Step.Wait(); // fast authentication succeeded; OK follows
                }
                if (more == 0x04) {
                    if (tls) {
                        ByteBuf clear = alloc.buffer(password.length + 1).writeBytes(password).writeByte(0);
                        return new Step.Send(clear);
                    }
                    awaitingKey = true;
                    return new Step.Send(alloc.buffer(1).writeByte(0x02));
                }
                return failed("it sent an unexpected authentication packet (0x01 " + more + ")");
            }
            default -> {
                return failed("it sent an unexpected packet (0x" + Integer.toHexString(h) + ") during authentication");
            }
        }
    }

    private Step failed(String why) {
        return new Step.Failed(new ProtocolError("08S01", 2003,
                "Countersign could not log in to backend '" + target.name() + "' (" + target.where() + "): " + why, null));
    }
}
