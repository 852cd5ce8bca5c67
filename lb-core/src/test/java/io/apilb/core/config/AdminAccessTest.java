package io.apilb.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AdminAccessTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "localhost, true",
        "LocalHost, true",
        "127.0.0.1, true",
        "127.1.2.3, true",
        "::1, true",
        "[::1], true",
        "0:0:0:0:0:0:0:1, true",
        "::ffff:127.0.0.1, true",
        "0.0.0.0, false",
        "::, false",
        "10.0.0.1, false",
        "128.0.0.1, false",
        "rebind.example, false",
        // A name is not resolved: what it points at may change after the check.
        "api.localhost, false",
        "localhost.example, false",
        "127.0.0.1.nip.io, false",
    })
    void loopbackIsLocalhostOrALoopbackLiteral(String host, boolean loopback) {
        assertEquals(loopback, AdminAccess.isLoopback(host));
    }

    @Test
    void aPortBeyondLoopbackNeedsAToken() {
        AdminConfig open = new AdminConfig(true, new HostPort("10.0.0.1", 8404), null, null);
        assertEquals(List.of(new AdminAccess.Violation("admin.address", "10.0.0.1:8404 is reachable beyond loopback"
                + " without a token (expected: admin.token or admin.tokenFile)")), AdminAccess.violations(open));
        assertEquals(List.of(), AdminAccess.violations(new AdminConfig(false, new HostPort("10.0.0.1", 8404), null, null)));
        assertEquals(List.of(), AdminAccess.violations(new AdminConfig(true, new HostPort("10.0.0.1", 8404), "t", null)));
        assertEquals(List.of(), AdminAccess.violations(new AdminConfig(true, new HostPort("[::1]", 8404), null, null)));
    }

    @Test
    void readsTheTokenInlineOrFromItsFile() throws Exception {
        Path file = Files.writeString(dir.resolve("token"), "  s3cret\n");
        HostPort local = new HostPort("127.0.0.1", 8404);
        assertEquals("s3cret", AdminAccess.readToken(new AdminConfig(true, local, null, file)));
        assertEquals("abc", AdminAccess.readToken(new AdminConfig(true, local, "abc", null)));
        assertNull(AdminAccess.readToken(new AdminConfig(true, local, null, null)));

        assertEquals("admin.tokenFile: " + dir.resolve("empty") + " is empty (expected: a secret)",
                assertThrows(IllegalStateException.class, () -> AdminAccess.readToken(new AdminConfig(true, local, null,
                        Files.writeString(dir.resolve("empty"), "\n")))).getMessage());
        assertEquals("admin.token: empty (expected: a secret, or no admin.token at all)",
                assertThrows(IllegalStateException.class,
                        () -> AdminAccess.readToken(new AdminConfig(true, local, " ", null))).getMessage());
        assertEquals("admin.tokenFile: set together with admin.token (expected: one of them)",
                assertThrows(IllegalStateException.class,
                        () -> AdminAccess.readToken(new AdminConfig(true, local, "abc", file))).getMessage());
    }
}
