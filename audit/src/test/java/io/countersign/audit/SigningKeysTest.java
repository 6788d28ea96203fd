package io.countersign.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.Signature;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SigningKeysTest {
    @TempDir
    Path dir;

    @Test
    void generatedPemFilesReadBackAsAWorkingPair() throws Exception {
        KeyPair made = SigningKeys.generate(dir.resolve("audit.key"), dir.resolve("audit.pub"));
        KeyPair read = SigningKeys.readKeyPair(dir.resolve("audit.key"), dir.resolve("audit.pub"));
        assertThat(read.getPublic().getEncoded()).isEqualTo(made.getPublic().getEncoded());
        Signature s = Signature.getInstance("Ed25519");
        s.initSign(read.getPrivate());
        s.update(new byte[] {1, 2, 3});
        byte[] sig = s.sign();
        s.initVerify(SigningKeys.readPublicKey(dir.resolve("audit.pub")));
        s.update(new byte[] {1, 2, 3});
        assertThat(s.verify(sig)).isTrue();
        assertThat(Files.readString(dir.resolve("audit.key"))).startsWith("-----BEGIN PRIVATE KEY-----");
    }

    @Test
    void aPublicKeyFromAnotherPairIsRefusedWithTheFix() throws Exception {
        SigningKeys.generate(dir.resolve("a.key"), dir.resolve("a.pub"));
        SigningKeys.generate(dir.resolve("b.key"), dir.resolve("b.pub"));
        assertThatThrownBy(() -> SigningKeys.readKeyPair(dir.resolve("a.key"), dir.resolve("b.pub")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not belong to")
                .hasMessageContaining("openssl pkey");
    }

    @Test
    void readsKeysMadeByOpenSsl() throws Exception {
        Process gen = new ProcessBuilder("openssl", "genpkey", "-algorithm", "ed25519", "-out", dir.resolve("o.key").toString())
                .redirectErrorStream(true).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(gen.waitFor(30, TimeUnit.SECONDS) && gen.exitValue() == 0, "openssl is not installed");
        Process pub = new ProcessBuilder("openssl", "pkey", "-in", dir.resolve("o.key").toString(), "-pubout", "-out",
                dir.resolve("o.pub").toString()).redirectErrorStream(true).start();
        assertThat(pub.waitFor(30, TimeUnit.SECONDS) && pub.exitValue() == 0).isTrue();
        KeyPair kp = SigningKeys.readKeyPair(dir.resolve("o.key"), dir.resolve("o.pub"));
        ChainHead head = ChainHead.create("node", 7, "ab", kp);
        assertThat(head.signatureValid(SigningKeys.readPublicKey(dir.resolve("o.pub")))).isTrue();
    }
}
