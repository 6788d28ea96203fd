package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * TLS for a listener: either a PEM certificate chain and PKCS#8 key, or {@code self-signed: true}
 * (a certificate generated at start, for trials).
 *
 * @param cert       PEM certificate (chain) file
 * @param key        PEM private key file (PKCS#8)
 * @param selfSigned generate a throwaway self-signed certificate at start
 * @param required   refuse agents that do not ask for TLS (default false)
 */
public record TlsConfig(
        String cert,
        String key,
        @JsonProperty("self-signed") Boolean selfSigned,
        Boolean required) implements ConfigSection {

    public TlsConfig {
        selfSigned = selfSigned != null && selfSigned;
        required = required != null && required;
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        boolean files = cert != null || key != null;
        if (selfSigned && files) {
            problems.add(at, "both 'self-signed: true' and cert/key given; expected one of them");
        } else if (!selfSigned && !files) {
            problems.add(at, "no certificate; expected 'cert' and 'key' (PEM files) or 'self-signed: true'");
        } else if (files) {
            if (problems.require(cert, Problems.join(at, "cert"), "the path of a PEM certificate file")) {
                readable(cert, Problems.join(at, "cert"), problems);
            }
            if (problems.require(key, Problems.join(at, "key"), "the path of a PEM private key file (PKCS#8)")) {
                readable(key, Problems.join(at, "key"), problems);
            }
        }
    }

    private static void readable(String file, String keyPath, Problems problems) {
        if (!Files.isReadable(Path.of(file))) {
            problems.add(keyPath, "file '" + file + "' does not exist or is not readable; expected a readable PEM file");
        }
    }
}
