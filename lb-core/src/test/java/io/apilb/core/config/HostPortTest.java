package io.apilb.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HostPortTest {

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            10.0.0.11:6443        | 10.0.0.11       | 6443 | 10.0.0.11:6443
            ' 10.0.0.11:6443 '    | 10.0.0.11       | 6443 | 10.0.0.11:6443
            master1.example:443   | master1.example | 443  | master1.example:443
            [::]:6443             | ::              | 6443 | [::]:6443
            [fd00::11]:1          | fd00::11        | 1    | [fd00::11]:1
            localhost:65535       | localhost       | 65535| localhost:65535
            """)
    void parsesHostAndPort(String text, String host, int port, String printed) {
        HostPort hp = HostPort.parse(text);
        assertEquals(new HostPort(host, port), hp);
        assertEquals(printed, hp.toString());
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            10.0.0.11        | '"10.0.0.11" has no port (expected: host:port)'
            :6443            | '":6443" has no host (expected: host:port)'
            10.0.0.11:0      | '"10.0.0.11:0" has port 0 (expected: 1-65535)'
            10.0.0.11:70000  | '"10.0.0.11:70000" has port 70000 (expected: 1-65535)'
            10.0.0.11:api    | '"10.0.0.11:api" has a bad port "api" (expected: 1-65535)'
            fd00::11:6443    | '"fd00::11:6443" looks like a bare IPv6 address (expected: [ipv6]:port)'
            [fd00::11:6443   | '"[fd00::11:6443" has an unclosed ''['' (expected: [ipv6]:port)'
            [fd00::11]       | '"[fd00::11]" has no port (expected: [ipv6]:port)'
            [fd00::11]6443   | '"[fd00::11]6443" is not host:port (expected: [ipv6]:port)'
            []:6443          | '"[]:6443" has no host (expected: host:port)'
            """)
    void explainsWhatIsWrong(String text, String message) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> HostPort.parse(text)).getMessage());
    }
}
