package io.migrationverifier.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * README.md's configuration reference documents exactly the settings {@link ConfigLoader} accepts:
 * one table per section under a {@code #### `section`} heading ({@code #### Top level} for the
 * file's top level), the setting in backticks in the first column. A setting the loader accepts
 * but the README omits fails, and so does a documented setting the loader would reject.
 */
class ConfigReferenceTest {
  private static final String START = "<!-- config-reference:start -->";
  private static final String END = "<!-- config-reference:end -->";
  private static final Pattern CODE = Pattern.compile("`([^`]+)`");
  private static final Pattern FIRST_CELL = Pattern.compile("^\\|\\s*`([^`]+)`\\s*\\|");

  @Test
  void readmeDocumentsExactlyTheSettingsTheLoaderAccepts() throws IOException {
    Map<String, Set<String>> documented = documented(Files.readString(Path.of("README.md"), StandardCharsets.UTF_8));
    Map<String, List<String>> known = ConfigLoader.knownSettings();

    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, List<String>> section : known.entrySet()) {
      Set<String> doc = documented.get(section.getKey());
      if (doc == null) {
        problems.add("section " + label(section.getKey()) + " has no table in README.md's configuration reference");
        continue;
      }
      for (String setting : section.getValue()) {
        if (!doc.contains(setting)) {
          problems.add(label(section.getKey()) + ": `" + setting + "` is accepted by ConfigLoader but not documented");
        }
      }
      for (String setting : doc) {
        if (!section.getValue().contains(setting)) {
          problems.add(label(section.getKey()) + ": `" + setting + "` is documented but ConfigLoader rejects it");
        }
      }
    }
    for (String section : documented.keySet()) {
      if (!known.containsKey(section)) {
        problems.add("section " + label(section) + " is documented but ConfigLoader has no such section");
      }
    }
    assertThat(problems).as("README.md configuration reference vs ConfigLoader.knownSettings()").isEmpty();
  }

  @Test
  void theParserSeesMissingAndExtraSettings() {
    String readme = START + """

        #### Top level

        | setting | type | default | meaning |
        |---|---|---|---|
        | `name` | text | required | x |
        | `bogus` | text | - | x |

        #### `source`, `target`

        | setting | type | default | meaning |
        |---|---|---|---|
        | `host` | text | localhost | x |
        """ + END;
    Map<String, Set<String>> doc = documented(readme);
    assertThat(doc).containsOnlyKeys("", "source", "target");
    assertThat(doc.get("")).containsExactly("name", "bogus");
    assertThat(doc.get("target")).containsExactly("host");
  }

  @Test
  void theExampleConfigLoads() {
    VerifierConfig c = ConfigLoader.load(Path.of("config/verifier.example.yaml"),
        Map.of("SOURCE_DB_PASSWORD", "x", "TARGET_DB_PASSWORD", "y")::get);
    assertThat(c.tables()).isNotEmpty();
    assertThat(c.source().password().reveal()).isEqualTo("x");
  }

  /** Section -> settings of the reference tables between the two markers. */
  static Map<String, Set<String>> documented(String readme) {
    int from = readme.indexOf(START);
    int to = readme.indexOf(END);
    assertThat(from).as("README.md holds " + START).isNotNegative();
    assertThat(to).as("README.md holds " + END + " after " + START).isGreaterThan(from);
    Map<String, Set<String>> out = new LinkedHashMap<>();
    List<String> current = null;
    for (String line : readme.substring(from + START.length(), to).split("\n")) {
      if (line.startsWith("#### ")) {
        current = new ArrayList<>();
        Matcher m = CODE.matcher(line);
        while (m.find()) {
          current.add(m.group(1));
        }
        if (current.isEmpty()) {
          current.add(ConfigLoader.TOP);
        }
        for (String section : current) {
          out.putIfAbsent(section, new LinkedHashSet<>());
        }
        continue;
      }
      Matcher cell = FIRST_CELL.matcher(line);
      if (current != null && cell.find()) {
        for (String section : current) {
          out.get(section).add(cell.group(1));
        }
      }
    }
    return out;
  }

  private static String label(String section) {
    return section.isEmpty() ? "top level" : "`" + section + "`";
  }
}
