"""The word classes of the synthetic corpus's text model (private).

Typed out for ctckit (MIT, like the rest of the package); not taken from
any other word list or corpus. Within each line, words are listed from the
most to the least common: the text model draws them with Zipf weights by that
rank (see :mod:`ctckit.data._text`). Irregular forms are spelled out
(``child/children``, ``eat ate eaten``); regular ones are made by rule.

The vocabulary covers the whole English phoneme inventory, rare sounds
included (ZH in "usually", "television", "treasure"; OY in "boy", "voice",
"noise"; UH in "book", "woman"; the syllabic consonants of "bottle" and
"button").
"""

from __future__ import annotations

__all__ = [
    "ADJECTIVES",
    "ADVERBS_FREQUENCY",
    "ADVERBS_MANNER",
    "INTRANSITIVE",
    "MASS",
    "NAMES",
    "NOUNS",
    "TIMES",
    "TRANSITIVE",
    "WEEKDAYS",
]

#: Count nouns by category, ``singular`` or ``singular/plural``; ``~word``:
#: a mass noun (no plural, may stand without a determiner).
NOUNS: dict[str, str] = {
    "person": """
        man/men woman/women boy child/children girl friend mother father teacher doctor
        brother sister baby farmer thief/thieves king queen student driver nurse neighbor soldier
        stranger captain cook singer artist uncle aunt grandmother grandfather husband
        wife/wives son daughter person/people prince princess hunter
        fisherman/fishermen sailor writer player dancer baker waiter visitor guard leader
        engineer scientist musician painter judge pilot guest lawyer knight
    """,
    "animal": """
        dog cat horse bird fish/fish cow sheep/sheep mouse/mice pig duck chicken rabbit
        bear wolf/wolves fox lion tiger monkey elephant snake frog goat deer/deer owl bee
        ant spider whale donkey camel turtle goose/geese puppy/puppies kitten squirrel
        parrot
    """,
    "food": """
        ~bread apple cake egg ~cheese ~soup ~rice ~meat ~oil potato/potatoes orange banana
        cookie sandwich pie tomato/tomatoes ~butter ~sugar ~honey carrot onion pear grape
        lemon cherry/cherries peach pizza ~chocolate ~salt ~corn bean ~flour ~beef
    """,
    "drink": """
        ~water ~milk ~tea ~coffee ~juice ~lemonade ~wine
    """,
    "container": """
        box bag bottle cup glass bowl basket plate dish jar bucket pot
    """,
    "thing": """
        book thing letter key toy ball television watch coin ring treasure pen pencil
        knife/knives spoon clock lamp candle map picture camera ticket gift umbrella hammer
        rope wheel bell flag card mirror brush needle button radio newspaper machine computer
        pillow blanket towel drum guitar piano violin balloon kite doll photograph
        envelope ~money ~paper
    """,
    "clothing": """
        shirt shoe hat coat dress sock jacket scarf/scarves boot glove skirt sweater belt
        uniform
    """,
    "vehicle": """
        car bus train boat bicycle truck ship plane taxi wagon
    """,
    "furniture": """
        door window table chair bed wall floor roof desk shelf/shelves sofa cupboard gate
        fence
    """,
    "place": """
        house garden kitchen room school city garage village town river forest path park
        street road market shop beach hill mountain field farm church hospital library
        station bridge island lake office museum restaurant hotel castle cave valley
    """,
    "nature": """
        tree flower sun moon star sky cloud ~rain ~snow ~wind ~grass leaf/leaves stone rock
        ~soil ~sand fire ~ice storm rainbow
    """,
    "body": """
        hand head eye mouth face arm tooth/teeth leg foot/feet ~hair nose ear finger heart
        shoulder knee
    """,
    "time": """
        day night morning month evening week year birthday hour minute summer winter autumn
    """,
    "text": """
        story song noise question decision answer voice name word ~truth choice ~pleasure
        lesson joke secret ~news dream idea plan problem game reason mistake ~music vision
        ~history language number color
    """,
}

#: Mass nouns' categories are in NOUNS (marked ``~``); this names the marker.
MASS = "~"

#: Transitive verbs, ``base`` or ``base past participle``, with the noun categories
#: of their objects after the colon (``*`` doubles the final consonant: stop, stopped).
TRANSITIVE = """
    see saw seen : person animal thing vehicle place nature food container furniture
    find found found : thing container animal person clothing text food
    take took taken : thing container food clothing vehicle animal
    make made made : food thing furniture text
    give gave given : thing food container clothing
    enjoy : food drink text place
    measure : thing furniture place body
    bring brought brought : thing food container clothing drink
    want : thing food drink clothing vehicle animal
    like : food drink animal person thing text place
    eat ate eaten : food
    drink drank drunk : drink
    buy bought bought : food drink thing clothing vehicle container
    read read read : text thing
    open : container furniture thing text
    close : container furniture thing text
    watch : person animal vehicle thing
    help : person animal
    carry : thing container food animal
    hold held held : thing container animal
    need : thing food drink clothing vehicle
    know knew known : person place text
    meet met met : person
    call : person animal
    love : person animal food place text
    wash : clothing container vehicle body furniture food
    clean : furniture place container vehicle clothing thing
    cook : food
    write wrote written : text
    sell sold sold : food thing clothing vehicle animal
    lose lost lost : thing container clothing animal
    keep kept kept : thing animal container food
    send sent sent : text thing
    visit : person place
    remember : person place text thing
    forget forgot forgotten : thing text person
    hear heard heard : text person animal vehicle
    tell told told : text person
    ask : person text
    answer : text person
    play : text thing
    sing sang sung : text
    drive drove driven : vehicle
    ride rode ridden : vehicle animal
    wear wore worn : clothing
    fix : thing vehicle furniture
    paint : furniture place thing
    build built built : place furniture thing
    draw drew drawn : thing animal person place
    cut cut cut : food thing
    break broke broken : thing container furniture
    drop* : thing container food
    throw threw thrown : thing food
    catch caught caught : thing animal
    hide hid hidden : thing container animal
    feed fed fed : animal person
    follow : person animal vehicle
    chase : animal person vehicle
    push : vehicle furniture container
    pull : vehicle furniture container
    fill : container
    count : thing animal
    cross : place
    climb : nature place furniture
    plant : nature food
    boil : drink food
    taste : food drink
    bake : food
    pour : drink
    borrow : thing text vehicle
    lend lent lent : thing text vehicle
    lock : furniture container vehicle
    move : furniture thing vehicle
    join : person
    destroy : thing furniture place
    point : thing
    thank : person
    kiss : person animal
    hug* : person animal
    kick : thing
    pick : food nature
    touch : thing animal body
    show showed shown : thing text
    teach taught taught : person text
    learn : text
    choose chose chosen : thing food clothing
    win won won : thing text
"""

#: Intransitive verbs, with the noun categories of their subjects.
INTRANSITIVE = """
    go went gone : person animal vehicle
    come came come : person animal vehicle
    sleep slept slept : person animal
    run ran run : person animal
    walk : person animal
    sit sat sat : person animal
    wait : person animal
    laugh : person
    smile : person
    cry : person animal
    work : person
    play : person animal
    arrive : person vehicle
    leave left left : person vehicle
    stay : person animal
    swim swam swum : person animal
    dance : person
    jump : person animal
    stand stood stood : person animal
    fall fell fallen : person thing nature
    return : person vehicle
    listen : person
    travel : person
    rest : person animal
    shout : person
    stop* : person vehicle
    hurry : person
    fly flew flown : animal vehicle
    grow grew grown : nature person animal
    shine shone shone : nature
    burn : nature thing
    ring rang rung : thing
    blow blew blown : nature
    wake woke woken : person animal
    cough : person
    breathe : person animal
    sing sang sung : person animal
    disappear : person animal thing
"""

#: Adjectives, with the noun categories they describe.
ADJECTIVES = """
    good : person animal food drink thing text place vehicle clothing
    old : person animal thing vehicle place furniture clothing container
    new : thing vehicle clothing furniture place container text
    big : animal thing vehicle place furniture container nature
    small : animal thing vehicle place furniture container nature
    little : person animal thing place container
    young : person animal
    beautiful : person animal place nature clothing thing
    red : thing clothing vehicle food nature container furniture
    black : animal thing clothing vehicle furniture
    white : animal thing clothing vehicle furniture nature
    blue : thing clothing vehicle nature container
    green : thing clothing vehicle food nature furniture
    yellow : thing clothing vehicle food nature
    brown : animal thing clothing furniture
    happy : person animal
    thirsty : person animal
    noisy : person animal place
    hot : food drink place
    cold : food drink place nature
    long : text thing clothing place
    tall : person nature furniture
    heavy : thing container furniture
    dark : place nature clothing
    quiet : person animal place
    strange : person animal thing text place
    funny : person animal text
    sad : person animal text
    hungry : person animal
    tired : person animal
    clean : clothing container place furniture
    dirty : clothing container place furniture vehicle
    fresh : food drink
    sweet : food drink
    empty : container place
    full : container
    broken : thing container furniture vehicle
    kind : person
    angry : person animal
    busy : person place
    warm : food drink clothing place
    soft : thing clothing furniture
    wet : clothing animal thing
    famous : person place
    lovely : person place nature clothing
    pretty : person animal clothing nature
    round : thing furniture
    tiny : animal thing
    huge : animal thing place
    wild : animal
    brave : person
    clever : person animal
    poor : person
    rich : person
    lazy : person animal
    sick : person animal
    sharp : thing
    bright : nature thing
    golden : thing nature
    wooden : thing furniture container
    thick : thing clothing food
    thin : person animal thing
    royal : person place
    loud : text
    short : person text thing
    true : text
    simple : text
    secret : text place
    delicious : food
    friendly : person animal
    lonely : person
    gentle : person animal
    ugly : animal thing
    usual : text place
"""

#: Manner adverbs (after an intransitive verb).
ADVERBS_MANNER = """
    quickly slowly quietly together alone again early late happily carefully suddenly
    loudly softly well hard away
"""

#: Frequency adverbs (before the verb).
ADVERBS_FREQUENCY = """
    usually always often never sometimes also really
"""

#: Time expressions, each one or more words.
TIMES = """
    today | yesterday | tonight | tomorrow | last night | every day | in the morning |
    at night | this morning | in the evening | last week | every morning | after dinner |
    before breakfast | in the summer | in the winter | at noon | next week | once |
    last year | on sunday
"""

#: Days of the week, for "on DAY".
WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday"

#: First names (lower case, as the texts are).
NAMES = """
    john mary tom anna peter susan david lucy james emma paul sarah george alice henry
    grace jack rose sam kate ben molly joe helen frank
"""
