package io.apilb.app.demo;

import io.apilb.core.transport.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The demo's three local "masters", with a throwaway CA generated at start and written to a
 * temporary directory, so the demo's health checks verify certificates the way a real cluster's do.
 */
public final class DemoCluster implements AutoCloseable {
    private final Path dir;
    private final Path caFile;
    private final EventLoopGroup group;
    private final List<DemoMaster> masters = new ArrayList<>();

    private DemoCluster(Path dir, Path caFile, EventLoopGroup group) {
        this.dir = dir;
        this.caFile = caFile;
        this.group = group;
    }

    /** Generates the CA and certificates and starts {@code count} masters on free loopback ports. */
    public static DemoCluster launch(int count) throws Exception {
        Path dir = Files.createTempDirectory("apilb-demo-");
        Instant now = Instant.now();
        X509Bundle ca = new CertificateBuilder().ecp256().subject("CN=apilb-demo-ca")
                .notBefore(now.minus(1, ChronoUnit.HOURS)).notAfter(now.plus(30, ChronoUnit.DAYS))
                .setIsCertificateAuthority(true)
                .setKeyUsage(true, CertificateBuilder.KeyUsage.keyCertSign, CertificateBuilder.KeyUsage.cRLSign)
                .buildSelfSigned();
        Path caFile = Files.writeString(dir.resolve("ca.crt"), ca.getCertificatePEM());
        Transport transport = Transport.detect();
        DemoCluster cluster = new DemoCluster(dir, caFile,
                transport.newGroup(1, new DefaultThreadFactory("apilb-demo", true)));
        for (int i = 1; i <= count; i++) {
            // Like kubeadm's apiserver certificate: valid for "kubernetes", the node name and its IP.
            X509Bundle cert = new CertificateBuilder().ecp256().subject("CN=kube-apiserver")
                    .notBefore(now.minus(1, ChronoUnit.HOURS)).notAfter(now.plus(30, ChronoUnit.DAYS))
                    .addSanDnsName("kubernetes").addSanDnsName("localhost").addSanDnsName("master" + i)
                    .addSanIpAddress("127.0.0.1")
                    .setKeyUsage(true, CertificateBuilder.KeyUsage.digitalSignature,
                            CertificateBuilder.KeyUsage.keyEncipherment)
                    .addExtendedKeyUsageServerAuth()
                    .buildIssuedBy(ca);
            SslContext ssl = SslContextBuilder.forServer(cert.toKeyManagerFactory()).build();
            DemoMaster m = new DemoMaster("master" + i, ssl, cluster.group, transport.serverChannelClass());
            m.start();
            cluster.masters.add(m);
        }
        return cluster;
    }

    /** PEM of the demo CA, for {@code health.tls.ca} and for {@code curl --cacert}. */
    public Path caFile() {
        return caFile;
    }

    public int size() {
        return masters.size();
    }

    public String name(int index) {
        return masters.get(index).name();
    }

    public int port(int index) {
        return masters.get(index).port();
    }

    /** Crashes master {@code index} (0-based): port closed, connections dropped. */
    public void stop(int index) {
        masters.get(index).stop();
    }

    public void restart(int index) {
        masters.get(index).start();
    }

    /** Makes {@code /readyz} of master {@code index} fail (as during a graceful shutdown), or pass again. */
    public void ready(int index, boolean ready) {
        masters.get(index).ready(ready);
    }

    /** One line per master: name, port, running, ready. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        for (DemoMaster m : masters) {
            sb.append(String.format("  %-8s 127.0.0.1:%-5d %-8s %s%n", m.name(), m.port(),
                    m.running() ? "running" : "stopped", m.ready() ? "ready" : "unready"));
        }
        return sb.toString();
    }

    @Override
    public void close() {
        for (DemoMaster m : masters) {
            m.stop();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        try {
            Files.deleteIfExists(caFile);
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // A temp dir left behind is harmless.
        }
    }
}
