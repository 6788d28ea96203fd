package io.countersign.wire.mysql;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * Countersign's side of one agent's authentication exchange (login or COM_CHANGE_USER):
 * mysql_native_password and caching_sha2_password with its fast path, full authentication over TLS
 * and the RSA key exchange, and AuthSwitchRequest when the client proposes another plugin.
 * Unknown users go through the same exchange and fail at the end, so agent names cannot be probed.
 */
final class AgentAuth {

    sealed interface Step {
        /** Send this payload to the client and wait for its answer. */
        record Send(byte[] payload) implements Step {}
        /** Authenticated; {@code before} (nullable) goes to the client ahead of the OK. */
        record Accept(byte[] before) implements Step {}
        /** Refused; {@code reason} (nullable) says why, for the client's error message. */
        record Reject(String reason) implements Step {
            Reject() {
                this(null);
            }
        }
        /** The client sent a bearer token in clear: verify it (asynchronously), then accept or reject. */
        record Token(String token) implements Step {}
    }

    /** The client-side plugin that sends the password (here: the agent's token) as it is. */
    static final String CLEAR_PASSWORD = "mysql_clear_password";

    private enum State { START, SWITCHED, FULL_AUTH, RSA_SENT, DONE }

    private final String user;
    private final byte[] password; // null: no such agent, or no usable credential
    private final Set<String> allowedPlugins;
    private final String defaultPlugin;
    private final boolean tls;
    private final KeyPair rsa;
    private final Map<String, byte[]> sha2Cache;
    /** The agent proves itself with a bearer token, sent with mysql_clear_password. */
    private final boolean token;
    private byte[] nonce;
    private String plugin;
    private State state = State.START;

    AgentAuth(String user, byte[] password, Set<String> allowedPlugins, String defaultPlugin, byte[] nonce,
              boolean tls, KeyPair rsa, Map<String, byte[]> sha2Cache) {
        this(user, password, allowedPlugins, defaultPlugin, nonce, tls, rsa, sha2Cache, false);
    }

    AgentAuth(String user, byte[] password, Set<String> allowedPlugins, String defaultPlugin, byte[] nonce,
              boolean tls, KeyPair rsa, Map<String, byte[]> sha2Cache, boolean token) {
        this.token = token;
        this.user = user;
        this.password = password;
        this.allowedPlugins = allowedPlugins;
        this.defaultPlugin = defaultPlugin;
        this.nonce = nonce;
        this.tls = tls;
        this.rsa = rsa;
        this.sha2Cache = sha2Cache;
    }

    /** The client's first answer: the plugin it chose (null before PLUGIN_AUTH) and its proof. */
    Step first(String clientPlugin, byte[] response) {
        String p = clientPlugin == null || clientPlugin.isEmpty() ? Scramble.NATIVE : clientPlugin;
        if (token) {
            if (CLEAR_PASSWORD.equals(p) && response != null && response.length > 0) {
                plugin = p;
                state = State.DONE;
                return new Step.Token(clearText(response));
            }
            return switchTo(CLEAR_PASSWORD);
        }
        if (!allowedPlugins.contains(p)) {
            return switchTo(defaultPlugin);
        }
        plugin = p;
        return verify(response);
    }

    /** Starts with an AuthSwitchRequest to {@code preferred} (or the default when not allowed), with a fresh nonce. */
    Step switchTo(String preferred) {
        plugin = token ? CLEAR_PASSWORD : preferred != null && allowedPlugins.contains(preferred) ? preferred : defaultPlugin;
        nonce = Scramble.nonce();
        state = State.SWITCHED;
        byte[] name = plugin.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[1 + name.length + 1 + nonce.length + 1];
        out[0] = (byte) 0xFE;
        System.arraycopy(name, 0, out, 1, name.length);
        System.arraycopy(nonce, 0, out, name.length + 2, nonce.length);
        return new Step.Send(out);
    }

    Step next(ByteBuf payload) {
        byte[] data = new byte[payload.readableBytes()];
        payload.getBytes(payload.readerIndex(), data);
        if (token && state == State.SWITCHED) {
            state = State.DONE;
            return new Step.Token(clearText(data));
        }
        return switch (state) {
            case SWITCHED -> verify(data);
            case FULL_AUTH -> fullAuth(data);
            case RSA_SENT -> rsaAnswer(data);
            default -> reject();
        };
    }

    String plugin() {
        return plugin;
    }

    /** mysql_clear_password sends the secret NUL-terminated. */
    private static String clearText(byte[] data) {
        int end = data.length;
        while (end > 0 && data[end - 1] == 0) {
            end--;
        }
        return new String(data, 0, end, StandardCharsets.UTF_8);
    }

    private Step verify(byte[] response) {
        if (Scramble.NATIVE.equals(plugin)) {
            return password != null && Scramble.matches(Scramble.nativeProof(password, nonce), response) ? accept(null) : reject();
        }
        // caching_sha2_password: fast path only for agents whose login is cached with this password
        byte[] cached = sha2Cache.get(user);
        if (password != null && password.length == 0 && (response == null || response.length == 0)) {
            return accept(null);
        }
        if (password != null && cached != null && Arrays.equals(cached, Scramble.sha2Double(password))) {
            return Scramble.matches(Scramble.sha2Proof(password, nonce), response) ? accept(new byte[] {0x01, 0x03}) : reject();
        }
        state = State.FULL_AUTH;
        return new Step.Send(new byte[] {0x01, 0x04});
    }

    private Step fullAuth(byte[] data) {
        if (data.length == 1 && data[0] == 0x02) {
            state = State.RSA_SENT;
            byte[] pem = Scramble.pem(rsa.getPublic()).getBytes(StandardCharsets.US_ASCII);
            byte[] out = new byte[pem.length + 1];
            out[0] = 0x01;
            System.arraycopy(pem, 0, out, 1, pem.length);
            return new Step.Send(out);
        }
        if (tls) {
            int end = data.length;
            while (end > 0 && data[end - 1] == 0) {
                end--;
            }
            return checkClear(Arrays.copyOf(data, end));
        }
        // a client that already holds our public key sends the encrypted password straight away
        return rsaAnswer(data);
    }

    private Step rsaAnswer(byte[] data) {
        try {
            byte[] masked = Scramble.rsaDecrypt(rsa.getPrivate(), data);
            for (int i = 0; i < masked.length; i++) {
                masked[i] ^= nonce[i % nonce.length];
            }
            int end = masked.length;
            while (end > 0 && masked[end - 1] == 0) {
                end--;
            }
            return checkClear(Arrays.copyOf(masked, end));
        } catch (GeneralSecurityException e) {
            return reject();
        }
    }

    private Step checkClear(byte[] clear) {
        if (password != null && java.security.MessageDigest.isEqual(password, clear)) {
            sha2Cache.put(user, Scramble.sha2Double(password));
            return accept(null);
        }
        return reject();
    }

    private Step accept(byte[] before) {
        state = State.DONE;
        return new Step.Accept(before);
    }

    private Step reject() {
        state = State.DONE;
        return new Step.Reject();
    }
}
