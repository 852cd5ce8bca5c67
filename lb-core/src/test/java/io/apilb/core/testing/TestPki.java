package io.apilb.core.testing;

import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * A throwaway PKI for tests: one cluster CA (like kubeadm's {@code ca.crt}) that signs server
 * certificates for the test API servers and client certificates for mTLS, plus a second, unrelated
 * CA for "signed by someone else" cases. Everything is generated in memory per JVM.
 */
public final class TestPki {
    private static final Instant NOT_BEFORE = Instant.now().minus(1, ChronoUnit.DAYS);
    private static final Instant NOT_AFTER = Instant.now().plus(2, ChronoUnit.DAYS);
    private static volatile X509Bundle ca;
    private static volatile X509Bundle otherCa;

    private TestPki() {
    }

    /** The cluster CA. */
    public static synchronized X509Bundle ca() {
        if (ca == null) {
            ca = newCa("CN=apilb-test-ca");
        }
        return ca;
    }

    /** A CA that signed nothing the tests trust. */
    public static synchronized X509Bundle otherCa() {
        if (otherCa == null) {
            otherCa = newCa("CN=some-other-ca");
        }
        return otherCa;
    }

    /** A server certificate issued by {@link #ca()} for {@code kubernetes}, {@code localhost} and 127.0.0.1. */
    public static X509Bundle server(String commonName) {
        return server(ca(), commonName, "kubernetes", "localhost");
    }

    /** A server certificate issued by {@code issuer} with these DNS names and 127.0.0.1 / ::1. */
    public static X509Bundle server(X509Bundle issuer, String commonName, String... dnsNames) {
        try {
            CertificateBuilder b = base().subject("CN=" + commonName)
                    .addSanIpAddress("127.0.0.1").addSanIpAddress("::1")
                    .setKeyUsage(true, CertificateBuilder.KeyUsage.digitalSignature,
                            CertificateBuilder.KeyUsage.keyEncipherment)
                    .addExtendedKeyUsageServerAuth();
            for (String n : dnsNames) {
                b.addSanDnsName(n);
            }
            return b.buildIssuedBy(issuer);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A client certificate issued by {@link #ca()}, subject {@code CN=<cn>,O=<org>}. */
    public static X509Bundle client(String commonName, String organization) {
        try {
            return base().subject("CN=" + commonName + ",O=" + organization)
                    .setKeyUsage(true, CertificateBuilder.KeyUsage.digitalSignature)
                    .addExtendedKeyUsageClientAuth()
                    .buildIssuedBy(ca());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the CA certificate as PEM into {@code dir}; returns its path. */
    public static Path writeCa(X509Bundle caBundle, Path dir, String fileName) {
        return write(dir.resolve(fileName), caBundle.getCertificatePEM());
    }

    /** Writes a certificate chain and its key as PEM into {@code dir}; returns {cert, key}. */
    public static Path[] writeKeyPair(X509Bundle bundle, Path dir, String baseName) {
        return new Path[] {
            write(dir.resolve(baseName + ".crt"), bundle.getCertificatePathPEM()),
            write(dir.resolve(baseName + ".key"), bundle.getPrivateKeyPEM())
        };
    }

    private static Path write(Path file, String pem) {
        try {
            Files.createDirectories(file.getParent());
            return Files.writeString(file, pem);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static CertificateBuilder base() {
        return new CertificateBuilder().ecp256().notBefore(NOT_BEFORE).notAfter(NOT_AFTER);
    }

    private static X509Bundle newCa(String subject) {
        try {
            return base().subject(subject).setIsCertificateAuthority(true)
                    .setKeyUsage(true, CertificateBuilder.KeyUsage.keyCertSign, CertificateBuilder.KeyUsage.cRLSign)
                    .buildSelfSigned();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
