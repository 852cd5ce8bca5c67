package io.apilb.app.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.utility.MountableFile;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The image built from {@code docker/Dockerfile} as a user runs it: no config mounted, so the
 * demo; its health check on the admin port turns healthy; {@code /version} answers over TLS
 * through the published 6443 from each of the three masters; {@code docker stop} (SIGTERM) ends
 * it with exit 0. Needs a Docker engine; skipped without one.
 */
class ContainerIT {
    private static final Pattern CA_FILE = Pattern.compile("--cacert (\\S+)");
    /** Built once for both tests, removed when the JVM exits. */
    private static ImageFromDockerfile image;

    @Test
    void demoImageIsHealthyServesThroughThePublishedPortAndStopsCleanly() throws Exception {
        assumeTrue(dockerAvailable(), "no Docker engine: Testcontainers found none (DOCKER_HOST, "
                + "/var/run/docker.sock), so the image from docker/Dockerfile cannot be built or run here");

        try (GenericContainer<?> demo = new GenericContainer<>(image())
                .withExposedPorts(6443)
                // Healthy = the image's HEALTHCHECK got 200 from /healthz on 127.0.0.1:8404 inside.
                .waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3)))) {
            demo.start();

            Container.ExecResult health = demo.execInContainer("/usr/local/bin/apilb-healthcheck");
            assertEquals(0, health.getExitCode(), health.getStderr());
            Container.ExecResult healthz = demo.execInContainer("bash", "-c",
                    "exec 3<>/dev/tcp/127.0.0.1/8404; printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3");
            assertTrue(healthz.getStdout().startsWith("HTTP/1.1 200"), healthz.getStdout());

            Matcher ca = CA_FILE.matcher(demo.getLogs());
            assertTrue(ca.find(), "the demo prints its CA file:\n" + demo.getLogs());
            Path caCopy = Files.createTempFile("apilb-demo-ca", ".crt");
            try {
                demo.copyFileFromContainer(ca.group(1), caCopy.toString());
                String caPem = Files.readString(caCopy);
                InetSocketAddress published = new InetSocketAddress(demo.getHost(), demo.getMappedPort(6443));
                Set<String> servedBy = new TreeSet<>();
                for (int i = 0; i < 6; i++) {
                    TlsGet.Response r = TlsGet.get(published, caPem, "/version", Duration.ofSeconds(5));
                    assertEquals(200, r.status(), r.head());
                    servedBy.add(servedBy(r.head()));
                }
                assertEquals(3, servedBy.size(), "round robin over the three demo masters: " + servedBy);
            } finally {
                Files.deleteIfExists(caCopy);
            }

            // docker stop: SIGTERM to the JVM (the entrypoint execs it), graceful exit 0.
            String id = demo.getContainerId();
            demo.getDockerClient().stopContainerCmd(id).withTimeout(45).exec();
            Long exit = demo.getDockerClient().inspectContainerCmd(id).exec().getState().getExitCodeLong();
            assertEquals(0L, exit, demo.getLogs());
        }
    }

    @Test
    void mountedConfigIsWhatTheImageRuns() throws Exception {
        assumeTrue(dockerAvailable(), "no Docker engine: Testcontainers found none (DOCKER_HOST, "
                + "/var/run/docker.sock), so the image from docker/Dockerfile cannot be built or run here");
        try (GenericContainer<?> check = new GenericContainer<>(image())
                .withCopyFileToContainer(MountableFile.forHostPath(RepoFiles.config("minimal.yaml")),
                        "/etc/apilb/apilb.yaml")
                .withCommand("check-config", "/etc/apilb/apilb.yaml")
                .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofMinutes(3)))) {
            check.start();
            assertTrue(check.getLogs().contains("OK: /etc/apilb/apilb.yaml"), check.getLogs());
        }
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * The image from docker/Dockerfile with the repository root as context: the poms and sources
     * of every module and docker/, never build output. The context is listed file by file, so the
     * Dockerfile is named by its path inside it ({@code withDockerfile(Path)} would make the
     * Dockerfile's own directory the context).
     */
    @SuppressWarnings("deprecation")
    private static synchronized ImageFromDockerfile image() throws IOException {
        if (image != null) {
            return image;
        }
        Path root = RepoFiles.root();
        image = new ImageFromDockerfile("apilb-it-" + UUID.randomUUID().toString()
                .substring(0, 8).toLowerCase(Locale.ROOT), true)
                .withDockerfilePath("docker/Dockerfile")
                .withFileFromPath("pom.xml", root.resolve("pom.xml"))
                .withFileFromPath("docker", root.resolve("docker"));
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path module : dirs.filter(d -> Files.isRegularFile(d.resolve("pom.xml"))).toList()) {
                String name = module.getFileName().toString();
                image.withFileFromPath(name + "/pom.xml", module.resolve("pom.xml"));
                if (Files.isDirectory(module.resolve("src"))) {
                    image.withFileFromPath(name + "/src", module.resolve("src"));
                }
            }
        }
        return image;
    }

    private static String servedBy(String head) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("x-served-by:")) {
                return line.substring(line.indexOf(':') + 1).strip();
            }
        }
        throw new AssertionError("no X-Served-By header in:\n" + head);
    }
}
