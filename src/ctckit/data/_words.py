"""Common English words for the synthetic corpus (private).

The list was typed out for ctckit (MIT, like the rest of the package); it is
not taken from any other word list. Words are lower case, alphabetic and
unique, and cover the whole English phoneme inventory (including rare sounds
such as ZH in "measure", OY in "voice" and the syllabic consonants of
"button" and "little").
"""

from __future__ import annotations

__all__ = ["WORDS"]

WORDS: tuple[str, ...] = tuple(
    """
    a about above across act add afraid after afternoon again against age ago agree air
    all almost alone along already also always am among amount an and anger animal
    another answer any anyone anything appear apple are area arm army around arrive art
    as ask at aunt autumn away baby back bad bag ball band bank bar base basket bath be
    bear beat beautiful became because become bed bee been before began begin behind
    being believe bell below belt bench beside best better between beyond bicycle big
    bird birth bit bite black blade blanket blood blow blue board boat body boil bone
    book boot border born both bottle bottom bought bowl box boy brain branch brave
    bread break breakfast breath bridge bright bring broad broken brother brought brown
    brush build burn business busy but butter button buy by cabin cake call calm came
    camera camp can candle cannot cap capital captain car card care carry case castle
    cat catch caught cause cell center certain chain chair chance change chapter charge
    cheap check cheese chicken chief child children choice choose church circle city
    class clean clear climb clock close cloth cloud coast coat coffee coin cold collect
    college color come common company complete contain continue control cook cool copy
    corn corner cost cotton could count country couple courage course cover cow crowd
    cry cup current cut daily dance danger dark daughter day dead deal dear death
    decide deep deer desert design desk detail develop dictionary did die different
    difficult dinner direction dirty discover distance divide do doctor does dog dollar
    done door double down dream dress drink drive drop dry duck during dust duty each
    eager ear early earth east easy eat edge egg eight either electric eleven else
    empty end enemy energy engine enjoy enough enter equal escape even evening event
    ever every exact example except exercise expect experience explain eye face fact
    factory fair fall family famous far farm fast father fear feather feel feet fell
    felt fence few field fifteen fifty fight figure fill final find fine finger finish
    fire first fish five flat floor flower fly follow food foot for force forest forget
    form forty forward found four fox free fresh friend from front fruit full fun
    garage garden gate gather gave general gentle get giant gift girl give glad glass
    go goat gold golden gone good got government grass gray great green grew ground
    group grow guard guess guide gun had hair half hall hand happen happy hard has hat
    have he head health hear heard heart heat heavy held hello help her here high hill
    him his history hit hold hole home honey hope horse hospital hot hotel hour house
    how huge human hundred hunger hurry husband ice idea if important in inch inside
    instead interest into iron is island it its jacket job join joke journey joy judge
    juice jump jungle just keep kept key kick kind king kitchen knee knew knife knock
    know lady lake lamp land language large last late laugh law lay lead leaf learn
    least leather leave left leg leisure lemon length less lesson let letter level lie
    life lift light like line lion list listen little live long look lost loud love low
    lunch machine made main make man many map march mark market matter may measure meat
    meet member memory men metal middle might mile milk mind minute miss modern moment
    money monkey month moon more morning most mother mountain mouse mouth move much
    music must my name narrow nation nature near neck need neighbor never new news next
    nice night nine no noise none noon north nose not nothing notice now number nurse
    object ocean of off offer office often oil old on once one only open or orange
    order other our out outside over own page paint pair paper parent park part party
    pass past path pay peace pencil people pepper perhaps person picture piece pig pink
    place plain plan plant play please pleasure pocket point poison pool poor position
    possible pot power present pretty price problem prove pull purple push put queen
    question quick quiet quite rabbit race rain raise ran rather reach read ready real
    reason receive record red remember rest rich ride right ring rise river road rock
    roll roof room root rope rose round row rule run safe said sail salt same sand sat
    save saw say school science sea season seat second see seed seem seen sell send
    sense sentence serve set seven several shade shadow shake shall shape share sharp
    she sheep shell shine ship shirt shoe shop short should shoulder shout show shut
    sick side sign silver simple since sing sister sit six size skin sky sleep slow
    small smell smile smoke snow so soft soil soldier some son song soon sorry sound
    south space speak special speed spend spoon spring square stand star start station
    stay step stick still stone stop store storm story straight strange street strong
    student study such sudden sugar summer sun supply sure surprise sweet swim system
    table tail take talk tall taste tea teach teacher team tell ten test than thank that
    the their them then there these they thick thin thing think third this those though
    thought thousand three through throw thumb thunder ticket tiger time tiny tired to
    today together told tomorrow tongue tonight too took tooth top total touch toward
    town toy track trade train travel treasure tree trip trouble truck true trust truth
    try turn twelve twenty twice two uncle under understand until up upon us use usual
    valley vegetable very village visit vision voice vote wagon wait walk wall want war
    warm was wash watch water wave way we weak wear weather week weight well went were
    west wet what wheat wheel when where which while white who whole why wide wife wild
    will win wind window winter wire wise wish with without woman wonder wood word wore
    work world worry would write wrong yard year yellow yes yesterday yet you young your
    zero zoo
    """.split()  # noqa: SIM905
)
