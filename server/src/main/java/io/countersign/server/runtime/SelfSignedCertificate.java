package io.countersign.server.runtime;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway certificate for a listener's TLS (the demo, {@code self-signed: true}): an EC P-256
 * key and a certificate for localhost / 127.0.0.1 valid for a year. Clients connect with
 * {@code sslmode=require}; for {@code verify-full}, give them the written certificate as root.
 */
public record SelfSignedCertificate(PrivateKey key, X509Certificate certificate) {

    public static SelfSignedCertificate generate(String commonName, List<String> dnsNames, List<String> ipAddresses) {
        try {
            KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
            gen.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            KeyPair pair = gen.generateKeyPair();
            X500Name subject = new X500Name("CN=" + commonName + ",O=Countersign self-signed");
            Instant now = Instant.now();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                    subject,
                    new BigInteger(64, new SecureRandom()).abs().add(BigInteger.ONE),
                    Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(Duration.ofDays(365))),
                    subject,
                    pair.getPublic());
            GeneralName[] names = new GeneralName[dnsNames.size() + ipAddresses.size()];
            int i = 0;
            for (String dns : dnsNames) names[i++] = new GeneralName(GeneralName.dNSName, dns);
            for (String ip : ipAddresses) names[i++] = new GeneralName(GeneralName.iPAddress, ip);
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate());
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(builder.build(signer));
            cert.verify(pair.getPublic());
            return new SelfSignedCertificate(pair.getPrivate(), cert);
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("could not generate a self-signed TLS certificate: " + e.getMessage(), e);
        }
    }

    public static SelfSignedCertificate forLocalhost() {
        return generate("localhost", List.of("localhost"), List.of("127.0.0.1", "::1"));
    }

    /** Writes the certificate as PEM (for clients' sslrootcert), readable by everyone; the key stays in memory. */
    public Path writeCertificate(Path file) throws IOException {
        StringWriter pem = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
            w.writeObject(certificate);
        }
        Files.writeString(file, pem.toString());
        return file;
    }
}
