package io.jseek.model.hub;

import io.jseek.core.JseekException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which files of a repository a {@link HubRef} means, and which of them a model command opens.
 *
 * @param files  the repository paths to fetch
 * @param target the path to open: the first part of a GGUF model, or "" for the whole directory
 */
public record FileSelection(List<String> files, String target) {
    /** llama.cpp's {@code -hf} default when a repository has several quantizations. */
    public static final String DEFAULT_QUANT = "Q4_K_M";
    private static final Pattern SPLIT = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf");
    /** The files of a Hugging Face model directory that jseek reads. */
    private static final Pattern DIRECTORY_FILE = Pattern.compile(
            "(config\\.json|generation_config\\.json|tokenizer\\.json|tokenizer_config\\.json|special_tokens_map\\.json"
                    + "|[^/]*\\.safetensors|[^/]*\\.safetensors\\.index\\.json)");

    /** Selects from the repository's {@code paths} (as the Hub lists them). */
    public static FileSelection select(String repo, List<String> paths, String selector) {
        for (String p : paths) {
            if (p.startsWith("/") || p.contains("\\") || List.of(p.split("/")).contains("..")) {
                throw new JseekException("the Hub listed an unsafe file name in " + repo + ": " + p);
            }
        }
        Map<String, List<String>> models = ggufModels(paths);
        if (selector == null) {
            if (paths.contains("config.json") && paths.stream().anyMatch(p -> p.endsWith(".safetensors"))) {
                return new FileSelection(paths.stream().filter(p -> DIRECTORY_FILE.matcher(p).matches()).toList(), "");
            }
            if (models.size() == 1) {
                return ofModel(models.values().iterator().next());
            }
            if (models.isEmpty()) {
                throw new JseekException(repo + " has neither GGUF files nor a config.json with safetensors weights");
            }
            List<Map.Entry<String, List<String>>> hits = matching(models, DEFAULT_QUANT);
            if (hits.size() == 1) {
                return ofModel(hits.get(0).getValue());
            }
            throw new JseekException(repo + " has several GGUF models; name one with " + repo + ":QUANT or :FILE: " + names(models));
        }
        if (paths.contains(selector)) {
            Matcher m = SPLIT.matcher(selector);
            return m.matches() ? ofModel(models.get(m.group(1) + ".gguf")) : new FileSelection(List.of(selector), selector);
        }
        List<Map.Entry<String, List<String>>> hits = matching(models, selector);
        if (hits.size() == 1) {
            return ofModel(hits.get(0).getValue());
        }
        if (hits.isEmpty()) {
            throw new JseekException("no file or GGUF quantization '" + selector + "' in " + repo
                    + (models.isEmpty() ? "" : "; it has: " + names(models)));
        }
        throw new JseekException("'" + selector + "' matches several GGUF models in " + repo + ": "
                + names(new TreeMap<>(Map.ofEntries(hits.toArray(Map.Entry[]::new)))) + "; name the file");
    }

    /** GGUF models by name (a split model's parts under its name without the -0000k-of-0000n suffix); projector files left out. */
    private static Map<String, List<String>> ggufModels(List<String> paths) {
        Map<String, List<String>> models = new TreeMap<>();
        for (String p : paths) {
            String base = p.substring(p.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
            if (!base.endsWith(".gguf") || base.startsWith("mmproj")) {
                continue;
            }
            Matcher m = SPLIT.matcher(p);
            models.computeIfAbsent(m.matches() ? m.group(1) + ".gguf" : p, k -> new ArrayList<>()).add(p);
        }
        models.values().forEach(parts -> parts.sort(null));
        return models;
    }

    /** Models whose path holds the tag as a whole word (between separators), case-insensitive: Q4_K matches not Q4_K_M. */
    private static List<Map.Entry<String, List<String>>> matching(Map<String, List<String>> models, String tag) {
        Pattern word = Pattern.compile("(^|[-._/])" + Pattern.quote(tag.toLowerCase(Locale.ROOT)) + "([-._/]|$)");
        return models.entrySet().stream().filter(e -> word.matcher(e.getKey().toLowerCase(Locale.ROOT)).find()).toList();
    }

    private static FileSelection ofModel(List<String> parts) {
        if (parts == null) {
            throw new JseekException("a part of a split GGUF model is missing from the repository");
        }
        Matcher m = SPLIT.matcher(parts.get(0));
        if (m.matches() && Integer.parseInt(m.group(3)) != parts.size()) {
            throw new JseekException("split GGUF model " + m.group(1) + " has " + parts.size() + " of its " + m.group(3) + " parts on the Hub");
        }
        return new FileSelection(List.copyOf(parts), parts.get(0));
    }

    private static String names(Map<String, List<String>> models) {
        return String.join(", ", models.keySet());
    }
}
