# Hand-written free-form rationales for multiple-choice questions: (style, text, options, gold option, the option a
# careful reader takes; None = it commits to none).
KITCHEN = ["pepper", "sugar", "salt", "flour", "vinegar"]
PLACES = ["library", "train station", "airport", "beach", "hospital"]
FEEL = ["anger", "joy", "sadness", "fear", "boredom"]
TOOLS = ["hammer", "saw", "screwdriver", "wrench", "drill"]
ROWS = [
 ("letter_parenthesised", "Salt is used to season food and preserve it. (C)", KITCHEN, "salt", "salt"),
 ("letter_parenthesised", "Sea water tastes of salt.\n\n(C)", KITCHEN, "salt", "salt"),
 ("letter_with_text", "Seawater contains dissolved minerals, mostly sodium chloride.\nC. salt", KITCHEN, "salt", "salt"),
 ("letter_with_text", "Trains stop at stations to let people on.\n\nB. train station", PLACES, "train station", "train station"),
 ("letter_with_text", "Planes take off from an airport. Answer: C. airport", PLACES, "airport", "airport"),
 ("answer_text", "Sea water is salty because it holds salt. The answer is salt.", KITCHEN, "salt", "salt"),
 ("answer_text", "People waiting for a train wait at a station, so the answer is train station.", PLACES, "train station", "train station"),
 ("answer_text", "Smiling and laughing show happiness. The answer is joy.", FEEL, "joy", "joy"),
 ("best_option", "You need something that drives nails into wood, so the best option is A.", TOOLS, "hammer", "hammer"),
 ("best_option", "A screw is turned with a screwdriver. So the best option is C.", TOOLS, "screwdriver", "screwdriver"),
 ("best_option", "Books are borrowed from a library, so the correct option is (a).", PLACES, "library", "library"),
 ("best_option", "The correct choice is D: beach, since sand and waves are there.", PLACES, "beach", "beach"),
 ("best_option", "Among the options, the best answer would be (e) boredom.", FEEL, "boredom", "boredom"),
 ("closing_names_option", "When someone loses a friend they usually feel sadness.", FEEL, "sadness", "sadness"),
 ("closing_names_option", "A person who is hurt goes to a hospital to get treated.", PLACES, "hospital", "hospital"),
 ("closing_names_option", "The answer must be a place with many books. Of the above choices, only a library has many books.", PLACES, "library", "library"),
 ("closing_names_option", "You cut wood with a saw.", TOOLS, "saw", "saw"),
 ("closing_names_option", "Vinegar is sour, so it would make the salad sour.", KITCHEN, "vinegar", "vinegar"),
 ("closing_names_option", "Cakes are made mostly of flour.", KITCHEN, "flour", "flour"),
 ("closing_names_option", "Therefore option (d) is right.", TOOLS, "wrench", "wrench"),
 ("closing_names_option", "So I would choose (b).", FEEL, "joy", "joy"),
 ("closing_names_option", "A spooky house makes people feel fear.", FEEL, "fear", "fear"),
 ("wrong_choice", "Sugar is sweet and is found in the sea. The answer is (b) sugar.", KITCHEN, "salt", "sugar"),
 ("wrong_choice", "People catch trains at the airport. So the answer is (c).", PLACES, "train station", "airport"),
 ("wrong_choice", "A drill is used to hit nails.", TOOLS, "hammer", "drill"),
 ("hedge", "It could be (a) anger or (c) sadness.", FEEL, "sadness", None),
 ("hedge", "The answer is either (b) train station or (c) airport.", PLACES, "train station", None),
 ("hedge", "Both a saw and a drill cut things, so it is hard to say.", TOOLS, "saw", None),
 ("no_answer", "We need to think about where people go when they travel.", PLACES, "airport", None),
 ("no_answer", "This question is about feelings.", FEEL, "joy", None),
]
