package dev.kindling.tokenizers;

import dev.kindling.io.FileFormatException;
import dev.kindling.io.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The "post_processor" part of a {@code tokenizer.json}: wraps the encoded text (or pair) in special tokens and
 * assigns type ids. ByteLevel's post-processor only trims offsets, which ids do not carry, so it adds nothing.
 */
final class PostProcessors {
    private PostProcessors() {}

    interface PostProcessor {
        /** How many tokens {@link #process} adds to a single text or a pair. */
        int added(boolean pair);

        /** Appends the ids of {@code a} (and {@code b}, which may be null) with the specials around them. */
        void process(int[] a, int[] b, ByteLevelBpeTokenizer.IntList ids, ByteLevelBpeTokenizer.IntList types,
                     ByteLevelBpeTokenizer.IntList special);
    }

    /** Without special tokens: the texts one after the other, the second with type id 1. */
    static final PostProcessor PLAIN = new PostProcessor() {
        @Override
        public int added(boolean pair) {
            return 0;
        }

        @Override
        public void process(int[] a, int[] b, ByteLevelBpeTokenizer.IntList ids, ByteLevelBpeTokenizer.IntList types,
                            ByteLevelBpeTokenizer.IntList special) {
            sequence(a, 0, ids, types, special);
            if (b != null) sequence(b, 1, ids, types, special);
        }
    };

    private static void sequence(int[] seq, int type, ByteLevelBpeTokenizer.IntList ids,
                                 ByteLevelBpeTokenizer.IntList types, ByteLevelBpeTokenizer.IntList special) {
        ids.addAll(seq);
        for (int i = 0; i < seq.length; i++) {
            types.add(type);
            special.add(0);
        }
    }

    private static void token(int id, int type, ByteLevelBpeTokenizer.IntList ids, ByteLevelBpeTokenizer.IntList types,
                              ByteLevelBpeTokenizer.IntList special) {
        ids.add(id);
        types.add(type);
        special.add(1);
    }

    /**
     * A template: a list of items, each a special token's ids ({@code id < 0} marks a sequence: -1 for A, -2 for
     * B) with a type id.
     */
    record Template(List<int[]> single, List<int[]> pair) implements PostProcessor {
        @Override
        public int added(boolean isPair) {
            int n = 0;
            for (int[] item : isPair ? pair : single) if (item[0] >= 0) n += item.length - 1;
            return n;
        }

        @Override
        public void process(int[] a, int[] b, ByteLevelBpeTokenizer.IntList ids, ByteLevelBpeTokenizer.IntList types,
                            ByteLevelBpeTokenizer.IntList special) {
            for (int[] item : b == null ? single : pair) {
                int type = item[item.length - 1];
                if (item[0] == -1) sequence(a, type, ids, types, special);
                else if (item[0] == -2) sequence(b, type, ids, types, special);
                else for (int k = 0; k < item.length - 1; k++) token(item[k], type, ids, types, special);
            }
        }
    }

    static PostProcessor of(Map<String, Object> json, TokenizerJson.Reader r, String where)
            throws FileFormatException {
        if (json == null) return PLAIN;
        String type = r.string(json, "type", where);
        return switch (type) {
            case "TemplateProcessing" -> {
                Map<String, Object> specials = r.object(json, "special_tokens", where);
                yield new Template(template(json, "single", specials, r, where),
                        template(json, "pair", specials, r, where));
            }
            case "BertProcessing" -> {
                int cls = tokenId(json, "cls", r, where), sep = tokenId(json, "sep", r, where);
                yield new Template(List.of(new int[] {cls, 0}, new int[] {-1, 0}, new int[] {sep, 0}),
                        List.of(new int[] {cls, 0}, new int[] {-1, 0}, new int[] {sep, 0}, new int[] {-2, 1},
                                new int[] {sep, 1}));
            }
            case "RobertaProcessing" -> { // RoBERTa has no segment embeddings: type ids are all 0, pairs included
                int cls = tokenId(json, "cls", r, where), sep = tokenId(json, "sep", r, where);
                yield new Template(List.of(new int[] {cls, 0}, new int[] {-1, 0}, new int[] {sep, 0}),
                        List.of(new int[] {cls, 0}, new int[] {-1, 0}, new int[] {sep, 0}, new int[] {sep, 0},
                                new int[] {-2, 0}, new int[] {sep, 0}));
            }
            case "ByteLevel" -> PLAIN;
            case "Sequence" -> {
                List<?> parts = r.list(json, "processors", where);
                PostProcessor chosen = PLAIN;
                for (int i = 0; i < parts.size(); i++) {
                    String w = where + ".processors[" + i + "]";
                    PostProcessor p = of(TokenizerJson.asObject(parts.get(i), r, w), r, w);
                    if (p == PLAIN) continue;
                    if (chosen != PLAIN) throw r.error(w + ": a second processor that adds tokens is not supported");
                    chosen = p;
                }
                yield chosen;
            }
            default -> throw r.error(where + ": unknown post-processor type '" + type + "' (supported: "
                    + "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)");
        };
    }

    /** BertProcessing's {@code "cls": ["[CLS]", 101]}. */
    private static int tokenId(Map<String, Object> json, String key, TokenizerJson.Reader r, String where)
            throws FileFormatException {
        Object v = json.get(key);
        if (v instanceof List<?> l && l.size() == 2 && l.get(0) instanceof String) {
            return r.id(l.get(1), where + "." + key + "[1]");
        }
        throw r.error(where + "." + key + " is " + Json.write(v) + ", expected [\"token\", id]");
    }

    private static List<int[]> template(Map<String, Object> json, String key, Map<String, Object> specials,
                                        TokenizerJson.Reader r, String where) throws FileFormatException {
        List<?> items = r.list(json, key, where);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            String w = where + "." + key + "[" + i + "]";
            Map<String, Object> item = TokenizerJson.asObject(items.get(i), r, w);
            if (item.get("Sequence") instanceof Map<?, ?> s) {
                Object id = s.get("id");
                int type = typeId(s.get("type_id"), r, w);
                if ("A".equals(id)) out.add(new int[] {-1, type});
                else if ("B".equals(id)) out.add(new int[] {-2, type});
                else throw r.error(w + ".Sequence.id is " + Json.write(id) + ", expected \"A\" or \"B\"");
            } else if (item.get("SpecialToken") instanceof Map<?, ?> s) {
                Object name = s.get("id");
                int type = typeId(s.get("type_id"), r, w);
                if (!(name instanceof String n) || !(specials.get(n) instanceof Map<?, ?> def)) {
                    throw r.error(w + ": special token " + Json.write(name) + " is not in " + where
                            + ".special_tokens");
                }
                if (!(def.get("ids") instanceof List<?> idList) || idList.isEmpty()) {
                    throw r.error(where + ".special_tokens[" + Json.write(name) + "].ids is missing or empty");
                }
                int[] entry = new int[idList.size() + 1];
                for (int k = 0; k < idList.size(); k++) {
                    entry[k] = r.id(idList.get(k), where + ".special_tokens[" + Json.write(name) + "].ids[" + k + "]");
                }
                entry[idList.size()] = type;
                out.add(entry);
            } else {
                throw r.error(w + " is " + Json.write(item) + ", expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
            }
        }
        return out;
    }

    private static int typeId(Object v, TokenizerJson.Reader r, String where) throws FileFormatException {
        if (v == null) return 0;
        return r.id(v, where + ".type_id");
    }
}
