# Hand-written free-form rationales with numeric answers: (style, text, gold, the reading a careful reader takes;
# None = it states no answer). Written for qcrdkit's answer reader (tests/data/free_form/README.md).
ROWS = [
 # units inside a calculation, plain closing sentence
 ("units_in_calculation", "12 boxes x 4 pens = 48 pens. So Maria has 48 pens.", 48, 48),
 ("units_in_calculation", "Each crate holds 6 bottles, so 5 crates x 6 bottles = 30 bottles. The shop has 30 bottles.", 30, 30),
 ("units_in_calculation", "3 bags * 15 marbles = 45 marbles in all.", 45, 45),
 ("units_in_calculation", "She reads 20 pages a day for 7 days: 20 pages × 7 days = 140 pages. Lisa read 140 pages.", 140, 140),
 ("units_in_calculation", "There are 9 rows of 8 chairs. 9 rows x 8 chairs = 72 chairs, so 72 people can sit.", 72, 72),
 ("units_in_calculation", "Tom walks 3 km each day. 3 km/day x 6 days = 18 km. He walks 18 km in total.", 18, 18),
 ("units_in_calculation", "A pack has 10 stickers. 4 packs x 10 stickers = 40 stickers. Then she gives away 15 stickers, so she has 40 stickers - 15 stickers = 25 stickers.", 25, 25),
 ("units_in_calculation", "The baker uses 2 cups of flour per cake. For 9 cakes he needs 2 cups x 9 = 18 cups of flour.", 18, 18),
 # parentheses
 ("parentheses", "She now has 24 books (15 + 9 = 24).", 24, 24),
 ("parentheses", "The farmer has 56 cows left (80 - 24 = 56).", 56, 56),
 ("parentheses", "Each student gets 6 pencils (42 / 7 = 6). ", 6, 6),
 ("parentheses", "He needs (45 - 17) = 28 more stamps to fill the album.", 28, 28),
 ("parentheses", "Jenny baked 3 trays of 12 cookies (36 cookies) and ate 5, so 31 cookies are left (36 - 5 = 31).", 31, 31),
 ("parentheses", "The total cost is (3 x 4) + (2 x 5) = 12 + 10 = 22 dollars.", 22, 22),
 ("parentheses", "Number of teams = (30 + 6) / 4 = 9.", 9, 9),
 ("parentheses", "So there are 17 birds now (the 8 that flew away are gone).", 17, 17),
 # dashes and unicode minus
 ("dash_minus", "30 – 12 = 18", 18, 18),
 ("dash_minus", "He had 50 marbles and lost 23. 50 − 23 = 27 marbles remain.", 27, 27),
 ("dash_minus", "Difference: 91 — 46 = 45", 45, 45),
 ("dash_minus", "The temperature dropped from 5 to −3 degrees, a change of 5 − (−3) = 8 degrees.", 8, 8),
 ("dash_minus", "Mark scored 64 points and Jane scored 38. 64 – 38 = 26, so Mark scored 26 more points.", 26, 26),
 ("dash_minus", "She spent $120 – $85 = $35 more on the coat.", 35, 35),
 # a total of
 ("total_of", "a total of 15 + 9 = 24 books", 24, 24),
 ("total_of", "They collected a total of 120 + 85 = 205 cans.", 205, 205),
 ("total_of", "The class has a total of 14 boys and 16 girls, which is 30 students.", 30, 30),
 ("total_of", "Together they have a total of 7 + 8 + 9 = 24 apples.", 24, 24),
 ("total_of", "So she sold 18 + 27 = 45 tickets in total.", 45, 45),
 ("total_of", "Altogether there are 6 * 4 = 24 legs.", 24, 24),
 # closing sentence states another quantity than the last calculation
 ("restated_quantity", "631 + 1124 = 1755. So the number of boys is 1124.", 1124, 1124),
 ("restated_quantity", "The total is 48 + 36 = 84 students. So 36 of them are girls.", 36, 36),
 ("restated_quantity", "20 + 15 = 35 fruits in the basket. Therefore there are 15 oranges.", 15, 15),
 ("restated_quantity", "We know 7 x 9 = 63 seats. So the theatre has 9 rows.", 9, 9),
 ("restated_quantity", "He paid 4 x 5 = 20 dollars in all, so each toy cost 5 dollars.", 5, 5),
 ("restated_quantity", "There are 12 + 18 = 30 animals. The number of dogs is 18.", 18, 18),
 # final calculation that is not the answer
 ("calculation_not_answer", "8 x 74 = 592 inches of wood. Hence John needs 8 planks.", 8, 8),
 ("calculation_not_answer", "Each box holds 6 eggs and 6 x 12 = 72 eggs fit in 12 boxes. So Ann needs 12 boxes.", 12, 12),
 ("calculation_not_answer", "3 buses x 40 seats = 120 seats, enough for 110 children. They need 3 buses.", 3, 3),
 ("calculation_not_answer", "If he works 5 days, he earns 5 x 60 = 300 dollars. So he must work 5 days.", 5, 5),
 ("calculation_not_answer", "9 x 11 = 99 and 9 x 12 = 108, so the answer lies between. She can fill 11 bags completely.", 11, 11),
 # markdown and LaTeX
 ("markdown", "**Step 1:** 14 + 9 = 23\n**Step 2:** 23 - 5 = 18\n\n**Answer: 18**", 18, 18),
 ("markdown", "- Apples: 12\n- Pears: 7\n- Total fruit: 12 + 7 = **19**", 19, 19),
 ("markdown", "### Solution\nShe has 5 packs of 8 cards, so she has 5 × 8 = 40 cards.\n\n**Final answer:** 40 cards", 40, 40),
 ("markdown", "Total = 25 + 17 = **42**", 42, 42),
 ("markdown", "1. Start with 60 eggs.\n2. Sell 24 eggs: 60 - 24 = 36.\n3. Break 6 eggs: 36 - 6 = 30.\n\nShe has **30 eggs** left.", 30, 30),
 ("markdown", "| item | count |\n|---|---|\n| red | 4 |\n| blue | 9 |\n\nSo there are 4 + 9 = 13 balls.", 13, 13),
 ("latex", "$$ 10 \\times 6 = 60 $$", 60, 60),
 ("latex", "The number of apples is $5 \\times 4 = 20$.", 20, 20),
 ("latex", "\\[ \\frac{36}{4} = 9 \\]\nEach friend gets 9 sweets.", 9, 9),
 ("latex", "We compute \\(48 \\div 6 = 8\\). The answer is \\boxed{8}.", 8, 8),
 ("latex", "So the final result is \\boxed{\\frac{3}{4}}.", 0.75, 0.75),
 ("latex", "The cost is $$3 \\cdot 7 = 21$$ dollars.", 21, 21),
 ("latex", "Therefore, $x = 14$.", 14, 14),
 ("latex", "$\\text{Total} = 12 + 13 = 25$", 25, 25),
 # variables
 ("variable", "Let x be the number of boxes. Since each box holds 8 crayons, 8 * x = 24, so x = 24 / 8. Therefore, 3 = x.", 3, 3),
 ("variable", "Let n be the number of cats. n + 4 = 11, so n = 7.", 7, 7),
 ("variable", "x = 3", 3, 3),
 ("variable", "3 = x", 3, 3),
 ("variable", "Let y be the missing number. 45 - y = 19, which gives y = 26.", 26, 26),
 ("variable", "If p is the price, 4p = 36, hence p = 9.", 9, 9),
 ("variable", "Let the number of pages be p. Then p / 5 = 12, so p = 60 pages.", 60, 60),
 # numbers in words
 ("number_words", "She had five apples and bought seven more, so she has twelve apples.", 12, 12),
 ("number_words", "Three friends share the cake equally, so each friend gets four slices.", 4, 4),
 ("number_words", "After selling half of them, the shop has twenty-five bikes left.", 25, 25),
 ("number_words", "So the answer is twelve.", 12, 12),
 ("number_words", "There were 8 ducks and 7 more came, so there are fifteen ducks now.", 15, 15),
 ("number_words", "He gives away one hundred and twenty stamps.", 120, 120),
 ("number_words", "Therefore, Tom has nine marbles.", 9, 9),
 # explicit statements
 ("explicit", "Sara has 14 apples. She gets 9 more, so 14 + 9 = 23. The answer is 23.", 23, 23),
 ("explicit", "He has 40 - 15 = 25 left.\nFinal answer: 25", 25, 25),
 ("explicit", "The total is 7 * 8 = 56.\n#### 56", 56, 56),
 ("explicit", "Answer: 42 marbles", 42, 42),
 ("explicit", "The correct answer is 15.", 15, 15),
 ("explicit", "So the final answer is $1,250.", 1250, 1250),
 ("explicit", "Therefore the answer is (84 / 2).", 42, 42),
 ("explicit", "The answer is 3.5 hours.", 3.5, 3.5),
 ("explicit", "The answer is 9 (3 x 3).", 9, 9),
 # wrong arithmetic (read as written)
 ("wrong_arithmetic", "Emily had 20 candies. 20 - 5 = 14 candies. So she has a total of 14 candies.", 15, 14),
 ("wrong_arithmetic", "She buys 6 packs of 7 = 43 cards.", 42, 43),
 ("wrong_arithmetic", "The total is 58 + 27 = 75.", 85, 75),
 ("wrong_arithmetic", "Each child gets 96 / 8 = 13 stickers.", 12, 13),
 ("wrong_arithmetic", "He drove 45 x 3 = 125 miles in three hours.", 135, 125),
 ("wrong_arithmetic", "So the store has 130 - 48 = 92 shirts left.", 82, 92),
 ("wrong_arithmetic", "Together they have 19 + 26 = 44 shells. Ben has 44 shells with Tim.", 45, 44),
 # wrong reasoning with right arithmetic
 ("wrong_reasoning", "Jane had 12 pens and gave away 5, so she has 12 + 5 = 17 pens.", 7, 17),
 ("wrong_reasoning", "The train has 8 cars with 30 seats each, so it has 8 + 30 = 38 seats.", 240, 38),
 ("wrong_reasoning", "Debby drinks 6 bottles a day, so 12 bottles last 12 x 6 = 72 days.", 2, 72),
 ("wrong_reasoning", "There are 15 red and 9 blue balls, so there are 15 - 9 = 6 balls.", 24, 6),
 ("wrong_reasoning", "If 4 friends share 28 candies, each gets 28 x 4 = 112 candies.", 7, 112),
 # asides and checks after the answer
 ("aside", "She has 36 - 12 = 24 stickers left. Check: 24 + 12 = 36.", 24, 24),
 ("aside", "Each bag holds 9 apples, so he needs 54 / 9 = 6 bags. We can verify: 6 x 9 = 54.", 6, 6),
 ("aside", "So the shop sold 45 cakes. Note that the 12 cookies are not part of the question.", 45, 45),
 ("aside", "The answer is 16.\n\nLet's double-check: 4 x 4 = 16. Yes!", 16, 16),
 ("aside", "He read 5 + 8 = 13 books. The 3 magazines do not matter.", 13, 13),
 ("aside", "So 7 kids went home. I hope this helps!", 7, 7),
 ("aside", "There are 64 - 28 = 36 students left in the hall (check: 36 + 28 = 64).", 36, 36),
 # currency, separators, decimals, fractions, percent
 ("currency", "The first store made $4,089 and the second store made $4,176. Together they made $4,089 + $4,176 = $8,265.", 8265, 8265),
 ("currency", "Mike spent $12.50 on lunch and $7.25 on a snack. The total is $19.75.", 19.75, 19.75),
 ("currency", "She saved €250 per month for 4 months: €1,000.", 1000, 1000),
 ("currency", "The bike costs 1,250 dollars and he has 980, so he needs 270 more dollars.", 270, 270),
 ("currency", "He earns $15 an hour for 8 hours, which is $120.", 120, 120),
 ("decimal", "To find how many cups each friend gets, divide 25 by 3: 25 / 3 = 8.33 cups each.", 8.33, 8.33),
 ("decimal", "The ribbon is 7.5 m long and she cuts 2.25 m, leaving 5.25 m.", 5.25, 5.25),
 ("decimal", "Half of the 9 pizzas is 4.5 pizzas.", 4.5, 4.5),
 ("fraction", "Each person gets 3/4 of a pie.", 0.75, 0.75),
 ("fraction", "She used 1/2 of the 16 eggs, which is 8 eggs.", 8, 8),
 ("percent", "20 of the 80 students walk, so 25% of the students walk.", 25, 25),
 ("percent", "The discount is 30% of $50, which is 0.3 x 50 = 15 dollars.", 15, 15),
 # lists of steps
 ("steps", "Step 1: Sara has 14 apples.\nStep 2: She gets 9 more, so 14 + 9 = 23.", 23, 23),
 ("steps", "1. Total pencils: 28 x 24 = 672\n2. Rows: 672 / 16 = 42", 42, 42),
 ("steps", "First, 5 + 3 = 8 boys. Next, 8 x 2 = 16 children. Finally, 16 - 4 = 12 children stay.", 12, 12),
 ("steps", "Morning: 25 customers\nAfternoon: 25 + 13 = 38 customers\nTotal: 25 + 38 = 63 customers", 63, 63),
 # long free-form
 ("long", "To solve this problem, we need to figure out how many marbles Peter has after all of the trades. "
          "At the beginning, Peter has 30 marbles in his bag. He then trades 12 of them with his friend Sam, "
          "which means he gives away 12 marbles. After this trade, Peter has 30 - 12 = 18 marbles. Later in the "
          "afternoon, his sister gives him 7 more marbles as a gift, so he now has 18 + 7 = 25 marbles. "
          "It is worth noting that the 4 blue marbles in his drawer are not part of the bag. "
          "Therefore, Peter ends the day with 25 marbles in his bag.", 25, 25),
 ("long", "Let's break the problem into parts.\n\nFirst, we find how many cookies were baked. The bakery baked "
          "4 trays, and each tray holds 24 cookies, so 4 x 24 = 96 cookies were baked.\n\nNext, we find how many "
          "were sold. In the morning 38 cookies were sold, and in the afternoon 29 more were sold, for a total of "
          "38 + 29 = 67 cookies sold.\n\nFinally, we subtract the cookies sold from the cookies baked: "
          "96 - 67 = 29.\n\nSo the bakery has 29 cookies left at the end of the day.", 29, 29),
 ("long", "We are told that a school ordered 15 boxes of markers. Each box contains 12 markers. To find the total "
          "number of markers, we multiply the number of boxes by the number of markers in each box. That gives "
          "15 x 12 = 180 markers. The markers are shared equally among 9 classrooms, so we divide 180 by 9. "
          "180 / 9 = 20. Each classroom receives 20 markers.", 20, 20),
 # no answer stated
 ("no_answer", "He has some marbles and gives a few away.", 3, None),
 ("no_answer", "We need to find how many apples are left after the sale.", 12, None),
 ("no_answer", "To solve this, first add the boys and girls, then subtract the absent students.", 22, None),
 ("no_answer", "", 5, None),
 ("no_answer", "I'm not sure how to solve this problem.", 8, None),
]
