package io.countersign.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * {@code _manifest/head.json}: the newest record committed to Parquet (seq and hash), optionally signed
 * with the instance's Ed25519 key. Removing records from the end of the trail shows up against it; with a
 * signature it cannot be rewritten to match without the private key.
 */
public record ChainHead(String instanceId, long seq, String hash, String publicKey, String signature) {
    static final String FILE = "head.json";

    static byte[] signedBytes(String instanceId, long seq, String hash) {
        return ("countersign-audit-head\n" + instanceId + "\n" + seq + "\n" + hash).getBytes(StandardCharsets.UTF_8);
    }

    static ChainHead create(String instanceId, long seq, String hash, KeyPair key) {
        if (key == null) {
            return new ChainHead(instanceId, seq, hash, null, null);
        }
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(key.getPrivate());
            s.update(signedBytes(instanceId, seq, hash));
            return new ChainHead(instanceId, seq, hash, Base64.getEncoder().encodeToString(key.getPublic().getEncoded()),
                    Base64.getEncoder().encodeToString(s.sign()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("could not sign the audit chain head with the configured Ed25519 key: " + e, e);
        }
    }

    /** True when the signature verifies under {@code key}, or under the key stored alongside when {@code key} is null. */
    boolean signatureValid(PublicKey key) {
        if (signature == null) {
            return false;
        }
        try {
            PublicKey k = key != null ? key : KeyFactory.getInstance("Ed25519")
                    .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(publicKey)));
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(k);
            s.update(signedBytes(instanceId, seq, hash));
            return s.verify(Base64.getDecoder().decode(signature));
        } catch (GeneralSecurityException | IllegalArgumentException | NullPointerException e) {
            return false;
        }
    }

    void write(Path manifestDir) throws IOException {
        Path tmp = manifestDir.resolve(FILE + ".tmp");
        Files.write(tmp, Manifest.JSON.writeValueAsBytes(this));
        Fsync.file(tmp);
        Files.move(tmp, manifestDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Fsync.directory(manifestDir);
    }

    static ChainHead read(Path manifestDir) throws IOException {
        Path p = manifestDir.resolve(FILE);
        return Files.exists(p) ? Manifest.JSON.readValue(p.toFile(), ChainHead.class) : null;
    }
}
