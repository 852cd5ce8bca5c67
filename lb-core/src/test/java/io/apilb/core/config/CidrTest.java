package io.apilb.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.stream.Stream;

/** Allow-list blocks: how they are written, and which clients they hold. */
class CidrTest {
    private static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    static Stream<Arguments> memberships() {
        return Stream.of(
                arguments("10.0.0.0/8", "10.255.1.2", true),
                arguments("10.0.0.0/8", "11.0.0.0", false),
                arguments("10.0.0.7", "10.0.0.7", true),
                arguments("10.0.0.7", "10.0.0.8", false),
                arguments("10.1.2.3/8", "10.9.9.9", true),
                arguments("192.168.4.0/22", "192.168.7.255", true),
                arguments("192.168.4.0/22", "192.168.8.0", false),
                arguments("0.0.0.0/0", "8.8.8.8", true),
                arguments("0.0.0.0/0", "2001:db8::1", false),
                arguments("10.0.0.0/8", "::ffff:10.0.0.1", true),
                arguments("::ffff:10.0.0.0/104", "10.3.0.1", true),
                arguments("2001:db8::/32", "2001:db8:ffff::1", true),
                arguments("2001:db8::/32", "2001:db9::1", false),
                arguments("2001:db8:1:2::/64", "2001:db8:1:2:ffff::1", true),
                arguments("2001:db8:1:2::/63", "2001:db8:1:3::1", true),
                arguments("2001:db8:1:2::/64", "2001:db8:1:3::1", false),
                arguments("::1", "::1", true),
                arguments("::/0", "10.0.0.1", false),
                arguments("fd00::/8", "fd12::1", true));
    }

    @ParameterizedTest(name = "{0} holds {1}: {2}")
    @MethodSource("memberships")
    void containsExactlyTheAddressesUnderItsPrefix(String cidr, String client, boolean inside) {
        assertEquals(inside, Cidr.parse(cidr).contains(ip(client)));
    }

    static Stream<Arguments> writtenForms() {
        return Stream.of(
                arguments("10.1.2.3/8", "10.0.0.0/8"),
                arguments("10.0.0.7", "10.0.0.7/32"),
                arguments(" 2001:DB8:0:0:1::/64 ", "2001:db8::/64"),
                arguments("::1", "::1/128"),
                arguments("::ffff:10.0.0.1", "10.0.0.1/32"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("writtenForms")
    void normalisesWhatIsWritten(String text, String shown) {
        assertEquals(shown, Cidr.parse(text).toString());
    }

    static Stream<Arguments> wrongForms() {
        String expected = " (expected: an IP address or CIDR such as 10.0.0.0/8 or fd00::/8";
        return Stream.of(
                arguments("10.0.0.0/33", "10.0.0.0/33" + expected + ", prefix 0-32)"),
                arguments("2001:db8::/129", "2001:db8::/129" + expected + ", prefix 0-128)"),
                arguments("10.0.0.0/", "10.0.0.0/" + expected + ", prefix 0-32)"),
                arguments("10.0.0.0/-1", "10.0.0.0/-1" + expected + ", prefix 0-32)"),
                arguments("10.0.0", "\"10.0.0\"" + expected + ")"),
                arguments("master1.example", "\"master1.example\"" + expected + ")"),
                arguments("", "\"\"" + expected + ")"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("wrongForms")
    void refusesWhatIsNotAnAddressOrBlock(String text, String message) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> Cidr.parse(text)).getMessage());
    }
}
